// The values a chat template computes with, as Jinja2 sees Python's: undefined, None, bool, int,
// float, str, list/tuple, dict, namespace and callables, with Python's truthiness, equality,
// ordering, str() and repr(), and json.dumps as transformers' tojson filter calls it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embedtune::jinja {

class Value;
using List = std::vector<Value>;
// Keyword arguments of a call, in the order written.
using Kwargs = std::vector<std::pair<std::string, Value>>;
using Function = std::function<Value(List& args, Kwargs& kwargs)>;

// A dict keeps insertion order, as Python's does (tojson and items() show it). Keys are strings:
// chat template data is JSON.
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

class Value {
 public:
  enum class Kind {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict,
    kNamespace,
    kFunction
  };

  Value() = default;  // undefined
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value real(double f);
  static Value string(std::string s);
  static Value list(List items, bool tuple = false);
  static Value dict(Dict d);
  // A namespace() object: a dict shared by every copy, so `set ns.x = ...` is seen everywhere.
  static Value name_space(Dict d);
  static Value function(std::string name, Function f);
  // A JSON value as Python's json.loads would give it (objects keep their order).
  static Value from_json(const nlohmann::ordered_json& json);
  // The undefined value for a missing name, remembering it for the error that using it raises.
  static Value undefined(std::string name);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_number() const {
    return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool;
  }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kList && tuple_; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_function() const { return kind_ == Kind::kFunction; }

  bool as_bool() const { return b_; }
  int64_t as_int() const;    // bool and int
  double as_double() const;  // bool, int and float
  const std::string& as_string() const { return s_; }
  const List& as_list() const { return *list_; }
  const Dict& as_dict() const { return *dict_; }
  Dict& namespace_dict() const { return *dict_; }
  const std::string& undefined_name() const { return s_; }
  Value call(List& args, Kwargs& kwargs) const { return (*function_)(args, kwargs); }

  // Python's bool(x); undefined is false.
  bool truthy() const;
  // Python's str(x), as Jinja prints {{ x }}; undefined prints as "".
  std::string str() const;
  // Python's repr(x).
  std::string repr() const;
  // Python's type name, for error messages ("str", "int", "list", "undefined" ...).
  std::string type_name() const;
  // json.dumps(x, ensure_ascii, indent, separators, sort_keys), as transformers' tojson.
  std::string to_json(bool ensure_ascii, std::optional<int> indent,
                      std::optional<std::pair<std::string, std::string>> separators,
                      bool sort_keys) const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  bool tuple_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;  // the string, or the undefined name
  std::shared_ptr<const List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<const Function> function_;
};

// Python's ==.
bool equal(const Value& a, const Value& b);
// Python's <, as -1/0/1; throws Error when the types do not order ("'<' not supported").
int compare(const Value& a, const Value& b);
// Python's repr of a float: the shortest digits that read back, "1.0", "1e-05", "inf".
std::string python_float(double f);

// Strings as Python sees them: sequences of code points.
std::vector<std::string> code_points(std::string_view utf8);
size_t code_point_count(std::string_view utf8);

}  // namespace embedtune::jinja
