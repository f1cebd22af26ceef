// Jinja2's built-in filters and tests, and the Python str/dict/list methods a sandboxed template
// may call, for the values of value.h. Each throws embedtune::Error ("chat template: ...") where
// Python or Jinja2 would raise.
#pragma once

#include <string>
#include <string_view>

#include "tokenizer/jinja/value.h"

namespace embedtune::jinja {

bool has_filter(std::string_view name);
bool has_test(std::string_view name);
// value | name(args, kwargs).
Value apply_filter(const std::string& name, const Value& value, List& args, Kwargs& kwargs);
// value is name(args).
bool apply_test(const std::string& name, const Value& value, List& args);

// Jinja2's environment.getattr (obj.name): a method or attribute first, then the item.
Value get_attribute(const Value& object, const std::string& name);
// Jinja2's environment.getitem (obj[key]): the item first, then for a string key the attribute.
Value get_item(const Value& object, const Value& key);
// obj[start:stop:step] for lists, tuples and strings (null parts given as undefined).
Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step);
// Python's `item in container`.
bool contains(const Value& container, const Value& item);
// The items `for x in value` visits: list items, dict keys, a string's characters; none for
// undefined.
List iterate(const Value& value);
// The error Jinja2 raises on using an undefined value in an operation.
[[noreturn]] void fail_undefined(const Value& value);

}  // namespace embedtune::jinja
