// A compiled Jinja2 template, rendered as transformers renders chat templates: jinja2's
// ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loopcontrols, its tojson
// filter (ensure_ascii=False) and the globals raise_exception, strftime_now, namespace and dict.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace embedtune::jinja {

struct Node;

class Template {
 public:
  // Parses `source`; throws embedtune::Error "<origin>:<line>: ..." on a syntax error or a
  // construct outside the supported subset (see ast.h).
  Template(std::string_view source, std::string origin);
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with the keys of `context` (a JSON object) as variables. Throws embedtune::Error
  // "<origin>:<line>: ..." where jinja2 raises (raise_exception, an undefined value used, a type
  // error). Thread-safe.
  std::string render(const nlohmann::ordered_json& context) const;

  // Whether the template reads a variable `name` that it does not set itself (as
  // jinja2.meta.find_undeclared_variables lists it).
  bool reads_variable(std::string_view name) const;

  struct Parsed;  // the syntax tree (template.cc)

 private:
  std::unique_ptr<const Parsed> parsed_;
};

}  // namespace embedtune::jinja
