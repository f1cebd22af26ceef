// Jinja2's filters and tests (jinja2/filters.py, jinja2/tests.py) and the Python methods of str,
// dict and list that chat templates call, over value.h's values; Python's str semantics beneath
// them are in python_str.cc.
#include "tokenizer/jinja/builtins.h"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>

#include "io/error.h"
#include "tokenizer/jinja/python_str.h"

namespace embedtune::jinja {
namespace {

// The argument at `index` or named `name`, else `fallback`.
Value arg(const List& args, const Kwargs& kwargs, size_t index, std::string_view name,
          Value fallback = Value()) {
  if (index < args.size()) return args[index];
  for (const auto& [k, v] : kwargs)
    if (k == name) return v;
  return fallback;
}

Value bound(const std::string& name, Function f) { return Value::function(name, std::move(f)); }

Value string_method(const std::string& s, const std::string& name) {
  using A = List;
  using K = Kwargs;
  if (name == "startswith" || name == "endswith") {
    const bool suffix = name == "endswith";
    return bound(name, [s, suffix](A& a, K& k) {
      return Value::boolean(prefix_match(s, arg(a, k, 0, "prefix"), suffix));
    });
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip", right = name != "lstrip";
    return bound(name, [s, left, right](A& a, K& k) {
      return Value::string(strip(s, arg(a, k, 0, "chars"), left, right));
    });
  }
  if (name == "split" || name == "rsplit") {
    const bool from_right = name == "rsplit";
    return bound(name, [s, from_right](A& a, K& k) {
      const Value max = arg(a, k, 1, "maxsplit", Value::integer(-1));
      return split(s, arg(a, k, 0, "sep"), need_int(max, "split"), from_right);
    });
  }
  if (name == "replace") {
    return bound(name, [s](A& a, K& k) {
      return Value::string(replace(s, need_string(arg(a, k, 0, "old"), "replace"),
                                   need_string(arg(a, k, 1, "new"), "replace"),
                                   need_int(arg(a, k, 2, "count", Value::integer(-1)), "replace")));
    });
  }
  if (name == "upper") return bound(name, [s](A&, K&) { return Value::string(to_upper(s)); });
  if (name == "lower") return bound(name, [s](A&, K&) { return Value::string(to_lower(s)); });
  if (name == "title") return bound(name, [s](A&, K&) { return Value::string(title(s)); });
  if (name == "capitalize")
    return bound(name, [s](A&, K&) { return Value::string(capitalize(s)); });
  if (name == "find" || name == "rfind" || name == "count" || name == "index") {
    return bound(name, [s, name](A& a, K& k) {
      const Value sub_value = arg(a, k, 0, "sub");  // need_string returns a reference into it
      const std::string& sub = need_string(sub_value, name.c_str());
      if (name == "count") {
        if (sub.empty()) return Value::integer(static_cast<int64_t>(code_point_count(s)) + 1);
        int64_t n = 0;
        for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size()))
          ++n;
        return Value::integer(n);
      }
      const size_t at = name == "rfind" ? s.rfind(sub) : s.find(sub);
      if (at == std::string::npos) {
        if (name == "index") type_error("substring not found");
        return Value::integer(-1);
      }
      return Value::integer(
          static_cast<int64_t>(code_point_count(std::string_view(s).substr(0, at))));
    });
  }
  if (name == "join") {
    return bound(name, [s](A& a, K& k) {
      std::string out;
      bool first = true;
      for (const auto& item : iterate(arg(a, k, 0, "iterable"))) {
        if (!first) out += s;
        out += need_string(item, "join");
        first = false;
      }
      return Value::string(out);
    });
  }
  if (name == "splitlines") {
    return bound(name, [s](A& a, K& k) {
      const bool keep = arg(a, k, 0, "keepends", Value::boolean(false)).truthy();
      List lines;
      size_t start = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\n' && s[i] != '\r') continue;
        size_t end = i;
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        lines.push_back(Value::string(s.substr(start, (keep ? i + 1 : end) - start)));
        start = i + 1;
      }
      if (start < s.size()) lines.push_back(Value::string(s.substr(start)));
      return Value::list(std::move(lines));
    });
  }
  if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "isalnum" ||
      name == "isupper" || name == "islower") {
    return bound(name, [s, name](A&, K&) {
      if (name == "isupper" || name == "islower")
        return Value::boolean(has_only_case(s, name == "islower"));
      const auto cps = code_points(s);
      if (cps.empty()) return Value::boolean(false);
      for (const auto& cp : cps) {
        const uint32_t c = decode(cp);
        const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
        const bool digit = category == UTF8PROC_CATEGORY_ND;
        if (name == "isdigit" && !digit) return Value::boolean(false);
        if (name == "isalpha" && !is_alpha_cp(c)) return Value::boolean(false);
        if (name == "isalnum" && !is_alpha_cp(c) && !digit) return Value::boolean(false);
        if (name == "isspace" && !py_space(c)) return Value::boolean(false);
      }
      return Value::boolean(true);
    });
  }
  return Value::undefined(name);
}

Value dict_method(const Value& d, const std::string& name) {
  if (name == "items") {
    return bound(name, [d](List&, Kwargs&) {
      List items;
      for (const auto& [k, v] : d.as_dict().items)
        items.push_back(Value::list({Value::string(k), v}, true));
      return Value::list(std::move(items));
    });
  }
  if (name == "keys" || name == "values") {
    const bool keys = name == "keys";
    return bound(name, [d, keys](List&, Kwargs&) {
      List items;
      for (const auto& [k, v] : d.as_dict().items) items.push_back(keys ? Value::string(k) : v);
      return Value::list(std::move(items));
    });
  }
  if (name == "get") {
    return bound(name, [d](List& a, Kwargs& k) {
      const Value key = arg(a, k, 0, "key");
      const Value* found = key.is_string() ? d.as_dict().find(key.as_string()) : nullptr;
      return found ? *found : arg(a, k, 1, "default", Value::none());
    });
  }
  return Value();
}

Value list_method(const Value& l, const std::string& name) {
  if (name == "index" || name == "count") {
    return bound(name, [l, name](List& a, Kwargs& k) {
      const Value item = arg(a, k, 0, "value");
      int64_t n = 0;
      for (size_t i = 0; i < l.as_list().size(); ++i) {
        if (!equal(l.as_list()[i], item)) continue;
        if (name == "index") return Value::integer(static_cast<int64_t>(i));
        ++n;
      }
      if (name == "index") type_error(item.repr() + " is not in list");
      return Value::integer(n);
    });
  }
  return Value::undefined(name);
}

// The item's "a.b" attribute (Jinja's make_attrgetter); the item itself when `attribute` is not
// a string.
Value attribute_of(const Value& item, const Value& attribute) {
  Value key = item;
  if (attribute.is_string()) {
    const Value parts = split(attribute.as_string(), Value::string("."), -1, false);
    for (const auto& part : parts.as_list()) key = get_item(key, part);
  }
  return key;
}

// Sort key for sort/unique/min/max: the attribute, lower-cased strings unless case-sensitive.
Value sort_key(const Value& item, const Value& attribute, bool case_sensitive) {
  Value key = attribute_of(item, attribute);
  if (!case_sensitive && key.is_string()) return Value::string(to_lower(key.as_string()));
  return key;
}

using FilterFn = std::function<Value(const Value&, List&, Kwargs&)>;
using TestFn = std::function<bool(const Value&, List&)>;

const std::map<std::string, TestFn, std::less<>>& tests() {
  static const std::map<std::string, TestFn, std::less<>> table = [] {
    std::map<std::string, TestFn, std::less<>> t;
    t["defined"] = [](const Value& v, List&) { return !v.is_undefined(); };
    t["undefined"] = [](const Value& v, List&) { return v.is_undefined(); };
    t["none"] = [](const Value& v, List&) { return v.is_none(); };
    t["boolean"] = [](const Value& v, List&) { return v.kind() == Value::Kind::kBool; };
    t["true"] = [](const Value& v, List&) { return v.kind() == Value::Kind::kBool && v.as_bool(); };
    t["false"] = [](const Value& v, List&) {
      return v.kind() == Value::Kind::kBool && !v.as_bool();
    };
    t["integer"] = [](const Value& v, List&) { return v.kind() == Value::Kind::kInt; };
    t["float"] = [](const Value& v, List&) { return v.kind() == Value::Kind::kFloat; };
    t["number"] = [](const Value& v, List&) { return v.is_number(); };
    t["string"] = [](const Value& v, List&) { return v.is_string(); };
    t["mapping"] = [](const Value& v, List&) { return v.is_dict(); };
    t["sequence"] = [](const Value& v, List&) {
      return v.is_list() || v.is_string() || v.is_dict();
    };
    t["iterable"] = [](const Value& v, List&) {
      return v.is_list() || v.is_string() || v.is_dict() || v.is_undefined();
    };
    t["callable"] = [](const Value& v, List&) { return v.is_function(); };
    t["odd"] = [](const Value& v, List&) { return need_int(v, "odd") % 2 != 0; };
    t["even"] = [](const Value& v, List&) { return need_int(v, "even") % 2 == 0; };
    t["divisibleby"] = [](const Value& v, List& a) {
      return need_int(v, "divisibleby") % need_int(a.at(0), "divisibleby") == 0;
    };
    t["lower"] = [](const Value& v, List&) { return has_only_case(v.str(), true); };
    t["upper"] = [](const Value& v, List&) { return has_only_case(v.str(), false); };
    t["in"] = [](const Value& v, List& a) { return contains(a.at(0), v); };
    t["sameas"] = [](const Value& v, List& a) {
      const Value& o = a.at(0);
      if (v.kind() != o.kind()) return false;
      if (v.is_none() || v.is_undefined()) return true;
      if (v.kind() == Value::Kind::kBool) return v.as_bool() == o.as_bool();
      return equal(v, o);
    };
    const TestFn eq = [](const Value& v, List& a) { return equal(v, a.at(0)); };
    t["eq"] = t["equalto"] = t["=="] = eq;
    t["ne"] = t["!="] = [](const Value& v, List& a) { return !equal(v, a.at(0)); };
    t["lt"] = t["lessthan"] =
        t["<"] = [](const Value& v, List& a) { return compare(v, a.at(0)) < 0; };
    t["le"] = t["<="] = [](const Value& v, List& a) { return compare(v, a.at(0)) <= 0; };
    t["gt"] = t["greaterthan"] =
        t[">"] = [](const Value& v, List& a) { return compare(v, a.at(0)) > 0; };
    t["ge"] = t[">="] = [](const Value& v, List& a) { return compare(v, a.at(0)) >= 0; };
    return t;
  }();
  return table;
}

// select/reject/selectattr/rejectattr: items whose (attribute's) test result is `keep`.
Value select_items(const Value& value, List& args, Kwargs& kwargs, bool keep, bool by_attribute) {
  size_t next = 0;
  Value attribute;
  if (by_attribute) attribute = arg(args, kwargs, next++, "attribute");
  const Value test = next < args.size() ? args[next++] : Value();
  List test_args(args.begin() + static_cast<std::ptrdiff_t>(std::min(next, args.size())),
                 args.end());
  List out;
  for (const auto& item : iterate(value)) {
    const Value subject = by_attribute ? attribute_of(item, attribute) : item;
    const bool pass = test.is_undefined()
                          ? subject.truthy()
                          : apply_test(need_string(test, "select"), subject, test_args);
    if (pass == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

const std::map<std::string, FilterFn, std::less<>>& filters() {
  static const std::map<std::string, FilterFn, std::less<>> table = [] {
    std::map<std::string, FilterFn, std::less<>> f;
    f["abs"] = [](const Value& v, List&, Kwargs&) {
      if (v.kind() == Value::Kind::kFloat) return Value::real(std::fabs(v.as_double()));
      return Value::integer(std::llabs(need_int(v, "abs")));
    };
    f["attr"] = [](const Value& v, List& a, Kwargs& k) {
      return get_attribute(v, need_string(arg(a, k, 0, "name"), "attr"));
    };
    f["capitalize"] = [](const Value& v, List&, Kwargs&) {
      return Value::string(capitalize(v.str()));
    };
    f["length"] = f["count"] = [](const Value& v, List&, Kwargs&) {
      if (v.is_undefined()) return Value::integer(0);
      if (v.is_string())
        return Value::integer(static_cast<int64_t>(code_point_count(v.as_string())));
      if (v.is_list()) return Value::integer(static_cast<int64_t>(v.as_list().size()));
      if (v.is_dict()) return Value::integer(static_cast<int64_t>(v.as_dict().items.size()));
      type_error(fmt::format("object of type '{}' has no len()", v.type_name()));
    };
    f["default"] = f["d"] = [](const Value& v, List& a, Kwargs& k) {
      const bool boolean = arg(a, k, 1, "boolean", Value::boolean(false)).truthy();
      if (v.is_undefined() || (boolean && !v.truthy()))
        return arg(a, k, 0, "default_value", Value::string(""));
      return v;
    };
    f["escape"] = f["e"] = [](const Value& v, List&, Kwargs&) {
      std::string out;
      for (const char c : v.str()) {
        switch (c) {
          case '&':
            out += "&amp;";
            break;
          case '<':
            out += "&lt;";
            break;
          case '>':
            out += "&gt;";
            break;
          case '"':
            out += "&#34;";
            break;
          case '\'':
            out += "&#39;";
            break;
          default:
            out += c;
        }
      }
      return Value::string(out);
    };
    f["first"] = [](const Value& v, List&, Kwargs&) {
      const List items = iterate(v);
      return items.empty() ? Value::undefined("first") : items.front();
    };
    f["last"] = [](const Value& v, List&, Kwargs&) {
      const List items = iterate(v);
      return items.empty() ? Value::undefined("last") : items.back();
    };
    f["float"] = [](const Value& v, List& a, Kwargs& k) {
      if (v.is_number()) return Value::real(v.as_double());
      if (v.is_string()) {
        char* end = nullptr;
        const std::string s = strip(v.as_string(), Value(), true, true);
        const double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end == s.c_str() + s.size()) return Value::real(d);
      }
      return arg(a, k, 0, "default", Value::real(0.0));
    };
    f["int"] = [](const Value& v, List& a, Kwargs& k) {
      if (v.kind() == Value::Kind::kFloat)
        return Value::integer(static_cast<int64_t>(v.as_double()));
      if (v.is_number()) return Value::integer(v.as_int());
      if (v.is_string()) {
        const std::string s = strip(v.as_string(), Value(), true, true);
        char* end = nullptr;
        const long long i = std::strtoll(
            s.c_str(), &end,
            static_cast<int>(need_int(arg(a, k, 1, "base", Value::integer(10)), "int")));
        if (!s.empty() && end == s.c_str() + s.size()) return Value::integer(i);
        const double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end == s.c_str() + s.size())
          return Value::integer(static_cast<int64_t>(d));
      }
      return arg(a, k, 0, "default", Value::integer(0));
    };
    f["indent"] = [](const Value& v, List& a, Kwargs& k) {
      const Value width_value = arg(a, k, 0, "width", Value::integer(4));
      const std::string pad =
          width_value.is_string()
              ? width_value.as_string()
              : std::string(static_cast<size_t>(need_int(width_value, "indent")), ' ');
      const bool first = arg(a, k, 1, "first", Value::boolean(false)).truthy();
      const bool blank = arg(a, k, 2, "blank", Value::boolean(false)).truthy();
      std::string s = v.str();
      std::string out;
      size_t start = 0;
      bool is_first = true;
      while (true) {
        const size_t end = s.find('\n', start);
        const std::string line =
            s.substr(start, end == std::string::npos ? std::string::npos : end - start);
        const bool indent_line =
            is_first ? first : (blank || !strip(line, Value(), true, true).empty());
        if (indent_line && !(is_first && line.empty() && end == std::string::npos && !first))
          out += pad;
        out += line;
        if (end == std::string::npos) break;
        out += '\n';
        start = end + 1;
        is_first = false;
      }
      return Value::string(out);
    };
    f["items"] = [](const Value& v, List&, Kwargs&) {
      if (v.is_undefined()) return Value::list({});
      if (!v.is_dict())
        type_error(fmt::format("items: expected a mapping, found {}", v.type_name()));
      List empty;
      Kwargs none;
      return dict_method(v, "items").call(empty, none);
    };
    f["join"] = [](const Value& v, List& a, Kwargs& k) {
      const std::string sep = arg(a, k, 0, "d", Value::string("")).str();
      const Value attribute = arg(a, k, 1, "attribute");
      std::string out;
      bool first = true;
      for (const auto& item : iterate(v)) {
        if (!first) out += sep;
        out +=
            (attribute.is_undefined() || attribute.is_none() ? item : attribute_of(item, attribute))
                .str();
        first = false;
      }
      return Value::string(out);
    };
    f["list"] = [](const Value& v, List&, Kwargs&) { return Value::list(iterate(v)); };
    f["lower"] = [](const Value& v, List&, Kwargs&) { return Value::string(to_lower(v.str())); };
    f["upper"] = [](const Value& v, List&, Kwargs&) { return Value::string(to_upper(v.str())); };
    f["title"] = [](const Value& v, List&, Kwargs&) { return Value::string(jinja_title(v.str())); };
    f["trim"] = [](const Value& v, List& a, Kwargs& k) {
      return Value::string(strip(v.str(), arg(a, k, 0, "chars"), true, true));
    };
    f["string"] = [](const Value& v, List&, Kwargs&) { return Value::string(v.str()); };
    f["safe"] = [](const Value& v, List&, Kwargs&) { return v; };
    f["replace"] = [](const Value& v, List& a, Kwargs& k) {
      const Value count = arg(a, k, 2, "count", Value::none());
      return Value::string(replace(v.str(), arg(a, k, 0, "old").str(), arg(a, k, 1, "new").str(),
                                   count.is_none() ? -1 : need_int(count, "replace")));
    };
    f["reverse"] = [](const Value& v, List&, Kwargs&) {
      if (v.is_string()) {
        auto cps = code_points(v.as_string());
        std::reverse(cps.begin(), cps.end());
        std::string out;
        for (const auto& cp : cps) out += cp;
        return Value::string(out);
      }
      List items = iterate(v);
      std::reverse(items.begin(), items.end());
      return Value::list(std::move(items));
    };
    f["round"] = [](const Value& v, List& a, Kwargs& k) {
      const int64_t precision = need_int(arg(a, k, 0, "precision", Value::integer(0)), "round");
      const std::string method = arg(a, k, 1, "method", Value::string("common")).str();
      const double scale = std::pow(10.0, static_cast<double>(precision));
      const double x = v.as_double() * scale;
      const double r = method == "ceil"    ? std::ceil(x)
                       : method == "floor" ? std::floor(x)
                                           : std::nearbyint(x);
      return Value::real(r / scale);
    };
    f["sort"] = [](const Value& v, List& a, Kwargs& k) {
      const bool reverse = arg(a, k, 0, "reverse", Value::boolean(false)).truthy();
      const bool case_sensitive = arg(a, k, 1, "case_sensitive", Value::boolean(false)).truthy();
      const Value attribute = arg(a, k, 2, "attribute");
      List items = iterate(v);
      std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        const int c =
            compare(sort_key(x, attribute, case_sensitive), sort_key(y, attribute, case_sensitive));
        return reverse ? c > 0 : c < 0;
      });
      return Value::list(std::move(items));
    };
    f["unique"] = [](const Value& v, List& a, Kwargs& k) {
      const bool case_sensitive = arg(a, k, 0, "case_sensitive", Value::boolean(false)).truthy();
      const Value attribute = arg(a, k, 1, "attribute");
      List out, seen;
      for (const auto& item : iterate(v)) {
        const Value key = sort_key(item, attribute, case_sensitive);
        if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equal(s, key); }))
          continue;
        seen.push_back(key);
        out.push_back(item);
      }
      return Value::list(std::move(out));
    };
    const auto extreme = [](bool largest) {
      return [largest](const Value& v, List& a, Kwargs& k) {
        const bool case_sensitive = arg(a, k, 0, "case_sensitive", Value::boolean(false)).truthy();
        const Value attribute = arg(a, k, 1, "attribute");
        const List items = iterate(v);
        if (items.empty()) return Value::undefined(largest ? "max" : "min");
        size_t best = 0;
        for (size_t i = 1; i < items.size(); ++i) {
          const int c = compare(sort_key(items[i], attribute, case_sensitive),
                                sort_key(items[best], attribute, case_sensitive));
          if (largest ? c > 0 : c < 0) best = i;
        }
        return items[best];
      };
    };
    f["max"] = extreme(true);
    f["min"] = extreme(false);
    f["sum"] = [](const Value& v, List& a, Kwargs& k) {
      const Value attribute = arg(a, k, 0, "attribute");
      Value total = arg(a, k, 1, "start", Value::integer(0));
      for (const auto& item : iterate(v)) {
        const Value x = attribute.is_undefined() ? item : attribute_of(item, attribute);
        if (total.kind() == Value::Kind::kFloat || x.kind() == Value::Kind::kFloat)
          total = Value::real(total.as_double() + x.as_double());
        else
          total = Value::integer(total.as_int() + need_int(x, "sum"));
      }
      return total;
    };
    f["map"] = [](const Value& v, List& a, Kwargs& k) {
      List out;
      const Value* attribute = nullptr;
      const Value* fallback = nullptr;
      for (const auto& [key, value] : k) {
        if (key == "attribute") attribute = &value;
        if (key == "default") fallback = &value;
      }
      for (const auto& item : iterate(v)) {
        if (attribute) {
          Value x = attribute_of(item, *attribute);
          if (x.is_undefined() && fallback) x = *fallback;
          out.push_back(x);
        } else {
          List rest(a.begin() + (a.empty() ? 0 : 1), a.end());
          Kwargs none;
          out.push_back(apply_filter(need_string(arg(a, k, 0, "filter"), "map"), item, rest, none));
        }
      }
      return Value::list(std::move(out));
    };
    f["select"] = [](const Value& v, List& a, Kwargs& k) {
      return select_items(v, a, k, true, false);
    };
    f["reject"] = [](const Value& v, List& a, Kwargs& k) {
      return select_items(v, a, k, false, false);
    };
    f["selectattr"] = [](const Value& v, List& a, Kwargs& k) {
      return select_items(v, a, k, true, true);
    };
    f["rejectattr"] = [](const Value& v, List& a, Kwargs& k) {
      return select_items(v, a, k, false, true);
    };
    f["tojson"] = [](const Value& v, List& a, Kwargs& k) {
      const Value indent = arg(a, k, 1, "indent", Value::none());
      const Value separators = arg(a, k, 2, "separators", Value::none());
      std::optional<std::pair<std::string, std::string>> seps;
      if (separators.is_list() && separators.as_list().size() == 2)
        seps = std::make_pair(separators.as_list()[0].str(), separators.as_list()[1].str());
      return Value::string(v.to_json(
          arg(a, k, 0, "ensure_ascii", Value::boolean(false)).truthy(),
          indent.is_none() ? std::nullopt
                           : std::optional<int>(static_cast<int>(need_int(indent, "tojson"))),
          seps, arg(a, k, 3, "sort_keys", Value::boolean(false)).truthy()));
    };
    f["wordcount"] = [](const Value& v, List&, Kwargs&) {
      int64_t n = 0;
      bool in_word = false;
      for (const auto& cp : code_points(v.str())) {
        const uint32_t c = decode(cp);
        const bool word =
            is_alpha_cp(c) ||
            utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND || c == '_';
        if (word && !in_word) ++n;
        in_word = word;
      }
      return Value::integer(n);
    };
    return f;
  }();
  return table;
}

}  // namespace

void fail_undefined(const Value& value) {
  if (value.undefined_name().empty()) fail("chat template: a value is undefined");
  fail("chat template: '{}' is undefined", value.undefined_name());
}

bool has_filter(std::string_view name) { return filters().count(name) > 0; }
bool has_test(std::string_view name) { return tests().count(name) > 0; }

Value apply_filter(const std::string& name, const Value& value, List& args, Kwargs& kwargs) {
  const auto it = filters().find(name);
  if (it == filters().end()) fail("chat template: no filter named '{}'", name);
  return it->second(value, args, kwargs);
}

bool apply_test(const std::string& name, const Value& value, List& args) {
  const auto it = tests().find(name);
  if (it == tests().end()) fail("chat template: no test named '{}'", name);
  return it->second(value, args);
}

Value get_attribute(const Value& object, const std::string& name) {
  switch (object.kind()) {
    case Value::Kind::kUndefined:
      fail_undefined(object);
    case Value::Kind::kString:
      return string_method(object.as_string(), name);
    case Value::Kind::kDict: {
      Value method = dict_method(object, name);
      if (!method.is_undefined()) return method;
      const Value* found = object.as_dict().find(name);
      return found ? *found : Value::undefined(name);
    }
    case Value::Kind::kNamespace: {
      const Value* found = object.namespace_dict().find(name);
      return found ? *found : Value::undefined(name);
    }
    case Value::Kind::kList:
      return list_method(object, name);
    default:
      return Value::undefined(name);
  }
}

Value get_item(const Value& object, const Value& key) {
  if (object.is_undefined()) fail_undefined(object);
  if (object.is_dict() && key.is_string()) {
    const Value* found = object.as_dict().find(key.as_string());
    if (found) return *found;
  }
  if ((object.is_list() || object.is_string()) &&
      (key.kind() == Value::Kind::kInt || key.kind() == Value::Kind::kBool)) {
    if (object.is_list()) {
      const auto size = static_cast<int64_t>(object.as_list().size());
      int64_t i = key.as_int();
      if (i < 0) i += size;
      return i >= 0 && i < size ? object.as_list()[static_cast<size_t>(i)]
                                : Value::undefined(key.str());
    }
    const auto cps = code_points(object.as_string());
    const auto size = static_cast<int64_t>(cps.size());
    int64_t i = key.as_int();
    if (i < 0) i += size;
    return i >= 0 && i < size ? Value::string(cps[static_cast<size_t>(i)])
                              : Value::undefined(key.str());
  }
  if (key.is_string()) return get_attribute(object, key.as_string());
  return Value::undefined(key.str());
}

Value get_slice(const Value& object, const Value& start_v, const Value& stop_v,
                const Value& step_v) {
  if (object.is_undefined()) fail_undefined(object);
  const bool is_string = object.is_string();
  if (!is_string && !object.is_list()) return Value::undefined("slice");
  std::vector<std::string> cps;
  if (is_string) cps = code_points(object.as_string());
  const auto size = static_cast<int64_t>(is_string ? cps.size() : object.as_list().size());
  const auto given = [](const Value& v) { return !v.is_undefined() && !v.is_none(); };
  const int64_t step = given(step_v) ? need_int(step_v, "slice") : 1;
  if (step == 0) fail("chat template: slice step cannot be zero");
  // Python's slice.indices.
  const auto clamp = [&](const Value& v, int64_t fallback) {
    if (!given(v)) return fallback;
    int64_t i = need_int(v, "slice");
    if (i < 0) i += size;
    if (step > 0) return std::clamp<int64_t>(i, 0, size);
    return std::clamp<int64_t>(i, -1, size - 1);
  };
  const int64_t start = clamp(start_v, step > 0 ? 0 : size - 1);
  const int64_t stop = clamp(stop_v, step > 0 ? size : -1);
  List items;
  std::string text;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (is_string)
      text += cps[static_cast<size_t>(i)];
    else
      items.push_back(object.as_list()[static_cast<size_t>(i)]);
  }
  return is_string ? Value::string(text) : Value::list(std::move(items), object.is_tuple());
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.is_string())
        type_error(
            fmt::format("'in <string>' requires string as left operand, not {}", item.type_name()));
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
      return std::any_of(container.as_list().begin(), container.as_list().end(),
                         [&](const Value& v) { return equal(v, item); });
    case Value::Kind::kDict:
      return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    case Value::Kind::kNamespace:
      return item.is_string() && container.namespace_dict().find(item.as_string()) != nullptr;
    default:
      type_error(fmt::format("argument of type '{}' is not iterable", container.type_name()));
  }
}

List iterate(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
      return value.as_list();
    case Value::Kind::kDict: {
      List keys;
      for (const auto& [k, v] : value.as_dict().items) keys.push_back(Value::string(k));
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      for (auto& cp : code_points(value.as_string())) chars.push_back(Value::string(std::move(cp)));
      return chars;
    }
    default:
      type_error(fmt::format("'{}' object is not iterable", value.type_name()));
  }
}

}  // namespace embedtune::jinja
