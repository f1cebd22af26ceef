// Renders a parsed chat template: statements, expressions, scopes and globals as jinja2 runs
// them in transformers' sandboxed environment.
#include "tokenizer/jinja/template.h"

#include <cmath>
#include <ctime>
#include <set>

#include "io/error.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/builtins.h"

namespace embedtune::jinja {

struct Template::Parsed {
  std::string origin;
  Body body;
  std::set<std::string, std::less<>> undeclared;
};

namespace {

// An error that already names the template and line.
class LocatedError : public Error {
 public:
  using Error::Error;
};

enum class Flow { kNormal, kBreak, kContinue };

// The globals transformers' environment adds (and Jinja's range), built once: they hold no state.
const Dict& globals() {
  static const Dict table = [] {
    Dict g;
    g.set("raise_exception", Value::function("raise_exception", [](List& a, Kwargs&) -> Value {
            fail("chat template raised an exception: {}", a.empty() ? std::string() : a[0].str());
          }));
    g.set("strftime_now", Value::function("strftime_now", [](List& a, Kwargs&) {
            const std::time_t now = std::time(nullptr);
            std::tm tm{};
            localtime_r(&now, &tm);
            char buf[256];
            const size_t n =
                std::strftime(buf, sizeof buf, a.empty() ? "" : a[0].str().c_str(), &tm);
            return Value::string(std::string(buf, n));
          }));
    const auto make_dict = [](List& a, Kwargs& k) {
      Dict d;
      if (!a.empty()) {
        if (!a[0].is_dict())
          fail("chat template: expected a dict as the positional argument, found {}",
               a[0].type_name());
        d = a[0].as_dict();
      }
      for (auto& [key, value] : k) {
        if (!key.empty() && key[0] == '_')
          fail("chat template: namespace attribute '{}' starts with an underscore", key);
        d.set(key, value);
      }
      return d;
    };
    g.set("namespace", Value::function("namespace", [make_dict](List& a, Kwargs& k) {
            return Value::name_space(make_dict(a, k));
          }));
    g.set("dict", Value::function("dict", [make_dict](List& a, Kwargs& k) {
            return Value::dict(make_dict(a, k));
          }));
    g.set("range", Value::function("range", [](List& a, Kwargs&) {
            int64_t start = 0, stop = 0, step = 1;
            const auto num = [](const Value& v) {
              if (v.kind() != Value::Kind::kInt && v.kind() != Value::Kind::kBool)
                fail("chat template: range() expects integers, found {}", v.type_name());
              return v.as_int();
            };
            if (a.size() == 1) {
              stop = num(a[0]);
            } else if (a.size() >= 2) {
              start = num(a[0]);
              stop = num(a[1]);
              if (a.size() > 2) step = num(a[2]);
            }
            if (step == 0) fail("chat template: range() step must not be zero");
            List items;
            for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
              items.push_back(Value::integer(i));
              if (items.size() > 100000) fail("chat template: range() is too long");
            }
            return Value::list(std::move(items));
          }));
    return g;
  }();
  return table;
}

class Renderer {
 public:
  Renderer(const Template::Parsed& parsed, const nlohmann::ordered_json& context)
      : parsed_(parsed) {
    if (!context.is_object()) fail("{}: the render context must be a JSON object", parsed.origin);
    for (const auto& [k, v] : context.items()) context_.set(k, Value::from_json(v));
    frames_.emplace_back();
  }

  std::string run() {
    std::string out;
    exec_body(parsed_.body, out);
    return out;
  }

 private:
  [[noreturn]] void rethrow(const Error& e, int line) const {
    throw LocatedError(fmt::format("{}:{}: {}", parsed_.origin, line, e.what()));
  }

  // ---- statements ----

  Flow exec_body(const Body& body, std::string& out) {
    for (const Node& node : body) {
      const Flow flow = exec(node, out);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  Flow exec(const Node& node, std::string& out) {
    try {
      return exec_unlocated(node, out);
    } catch (const LocatedError&) {
      throw;
    } catch (const Error& e) {
      rethrow(e, node.line);
    }
  }

  Flow exec_unlocated(const Node& node, std::string& out) {
    switch (node.type) {
      case Node::Type::kText:
        out += node.text;
        return Flow::kNormal;
      case Node::Type::kOutput:
        out += eval(*node.expr).str();
        return Flow::kNormal;
      case Node::Type::kIf:
        for (const auto& [condition, body] : node.branches) {
          if (eval(*condition).truthy()) return exec_body(body, out);
        }
        return exec_body(node.else_body, out);
      case Node::Type::kFor:
        return exec_for(node, out);
      case Node::Type::kSet:
        assign(node, eval(*node.expr));
        return Flow::kNormal;
      case Node::Type::kSetBlock: {
        std::string captured;
        exec_body(node.body, captured);
        assign(node, Value::string(std::move(captured)));
        return Flow::kNormal;
      }
      case Node::Type::kMacro:
        frames_.back().set(node.name, make_macro(node));
        return Flow::kNormal;
      case Node::Type::kBreak:
        return Flow::kBreak;
      case Node::Type::kContinue:
        return Flow::kContinue;
      case Node::Type::kFilterBlock: {
        std::string captured;
        exec_body(node.body, captured);
        out += apply_filter_expr(*node.expr, Value::string(std::move(captured))).str();
        return Flow::kNormal;
      }
      case Node::Type::kScope:
        return exec_body(node.body, out);
    }
    return Flow::kNormal;
  }

  void assign(const Node& node, const Value& value) {
    if (!node.attr.empty()) {
      const Value target = lookup(node.targets[0]);
      if (!target.is_namespace())
        fail(
            "chat template: cannot assign attribute '{}' on {} '{}'; only a namespace() takes "
            "attributes",
            node.attr, target.type_name(), node.targets[0]);
      if (node.attr[0] == '_')
        fail("chat template: namespace attribute '{}' starts with an underscore", node.attr);
      target.namespace_dict().set(node.attr, value);
      return;
    }
    if (node.targets.size() == 1) {
      frames_.back().set(node.targets[0], value);
      return;
    }
    unpack(node.targets, value, frames_.back());
  }

  static void unpack(const std::vector<std::string>& names, const Value& value, Dict& frame) {
    const List items = iterate(value);
    if (items.size() != names.size())
      fail("chat template: cannot unpack {} values into {} names", items.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) frame.set(names[i], items[i]);
  }

  Flow exec_for(const Node& node, std::string& out) {
    List items = iterate(eval(*node.expr));
    if (node.condition) {
      // `for x in xs if cond`: the filter runs first, so loop.index counts the kept items.
      List kept;
      for (const auto& item : items) {
        frames_.emplace_back();
        bind_targets(node, item);
        const bool keep = eval(*node.condition).truthy();
        frames_.pop_back();
        if (keep) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) return exec_body(node.else_body, out);
    const auto n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      frames_.emplace_back();
      bind_targets(node, items[static_cast<size_t>(i)]);
      Dict loop;
      loop.set("index", Value::integer(i + 1));
      loop.set("index0", Value::integer(i));
      loop.set("revindex", Value::integer(n - i));
      loop.set("revindex0", Value::integer(n - i - 1));
      loop.set("first", Value::boolean(i == 0));
      loop.set("last", Value::boolean(i == n - 1));
      loop.set("length", Value::integer(n));
      loop.set("depth", Value::integer(1));
      loop.set("depth0", Value::integer(0));
      loop.set("previtem",
               i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("previtem"));
      loop.set("nextitem",
               i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("nextitem"));
      const int64_t index = i;
      loop.set("cycle", Value::function("cycle", [index](List& a, Kwargs&) {
                 if (a.empty()) fail("chat template: loop.cycle() needs at least one argument");
                 return a[static_cast<size_t>(index) % a.size()];
               }));
      frames_.back().set("loop", Value::dict(std::move(loop)));
      // No unwinding on an error: it ends the render, and the Renderer with it.
      const Flow flow = exec_body(node.body, out);
      frames_.pop_back();
      if (flow == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }

  void bind_targets(const Node& node, const Value& item) {
    if (node.targets.size() == 1)
      frames_.back().set(node.targets[0], item);
    else
      unpack(node.targets, item, frames_.back());
  }

  Value make_macro(const Node& node) {
    const Node* macro = &node;
    return Value::function(node.name, [this, macro](List& args, Kwargs& kwargs) {
      Dict frame;
      List extra;
      for (size_t i = 0; i < args.size(); ++i) {
        if (i < macro->params.size())
          frame.set(macro->params[i].first, args[i]);
        else
          extra.push_back(args[i]);
      }
      Dict extra_kwargs;
      for (auto& [key, value] : kwargs) {
        bool known = false;
        for (const auto& param : macro->params) known |= param.first == key;
        if (known)
          frame.set(key, value);
        else
          extra_kwargs.set(key, value);
      }
      // A macro sees its arguments, then the template's top level and the context.
      std::vector<Dict> saved = std::move(frames_);
      frames_.clear();
      frames_.push_back(saved.front());
      frames_.push_back(std::move(frame));
      std::string out;
      for (const auto& [name, fallback] : macro->params) {
        if (frames_.back().find(name)) continue;
        frames_.back().set(name, fallback ? eval(*fallback) : Value::undefined(name));
      }
      frames_.back().set("varargs", Value::list(std::move(extra), true));
      frames_.back().set("kwargs", Value::dict(std::move(extra_kwargs)));
      exec_body(macro->body, out);
      saved.front() = std::move(frames_.front());
      frames_ = std::move(saved);
      return Value::string(std::move(out));
    });
  }

  // ---- expressions ----

  Value lookup(const std::string& name) const {
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it)
      if (const Value* v = it->find(name)) return *v;
    if (const Value* v = context_.find(name)) return *v;
    if (const Value* v = globals().find(name)) return *v;
    return Value::undefined(name);
  }

  void evaluate_args(const Expr& expr, List& args, Kwargs& kwargs) {
    for (const auto& a : expr.args) args.push_back(eval(*a));
    for (const auto& [k, v] : expr.kwargs) kwargs.emplace_back(k, eval(*v));
  }

  Value apply_filter_expr(const Expr& expr, const Value& input) {
    List args;
    Kwargs kwargs;
    evaluate_args(expr, args, kwargs);
    return apply_filter(expr.name, input, args, kwargs);
  }

  static Value arithmetic(const std::string& op, const Value& a, const Value& b) {
    if (op == "~") return Value::string(a.str() + b.str());
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    const bool numbers = a.is_number() && b.is_number();
    const bool floats =
        numbers && (a.kind() == Value::Kind::kFloat || b.kind() == Value::Kind::kFloat);
    if (op == "+") {
      if (numbers)
        return floats ? Value::real(a.as_double() + b.as_double())
                      : Value::integer(a.as_int() + b.as_int());
      if (a.is_string() && b.is_string()) return Value::string(a.as_string() + b.as_string());
      if (a.is_list() && b.is_list() && a.is_tuple() == b.is_tuple()) {
        List items = a.as_list();
        items.insert(items.end(), b.as_list().begin(), b.as_list().end());
        return Value::list(std::move(items), a.is_tuple());
      }
    } else if (op == "-") {
      if (numbers)
        return floats ? Value::real(a.as_double() - b.as_double())
                      : Value::integer(a.as_int() - b.as_int());
    } else if (op == "*") {
      if (numbers)
        return floats ? Value::real(a.as_double() * b.as_double())
                      : Value::integer(a.as_int() * b.as_int());
      const Value* seq = a.is_string() || a.is_list()   ? &a
                         : b.is_string() || b.is_list() ? &b
                                                        : nullptr;
      const Value* count = seq == &a ? &b : &a;
      if (seq && (count->kind() == Value::Kind::kInt || count->kind() == Value::Kind::kBool)) {
        const int64_t n = std::max<int64_t>(0, count->as_int());
        if (seq->is_string()) {
          std::string out;
          for (int64_t i = 0; i < n; ++i) out += seq->as_string();
          return Value::string(out);
        }
        List items;
        for (int64_t i = 0; i < n; ++i)
          items.insert(items.end(), seq->as_list().begin(), seq->as_list().end());
        return Value::list(std::move(items), seq->is_tuple());
      }
    } else if (op == "/") {
      if (numbers) {
        if (b.as_double() == 0) fail("chat template: division by zero");
        return Value::real(a.as_double() / b.as_double());
      }
    } else if (op == "//" || op == "%") {
      if (numbers) {
        if (b.as_double() == 0) fail("chat template: integer division or modulo by zero");
        if (floats) {
          const double x = a.as_double(), y = b.as_double();
          const double q = std::floor(x / y);
          return op == "//" ? Value::real(q) : Value::real(x - q * y);
        }
        const int64_t x = a.as_int(), y = b.as_int();
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return op == "//" ? Value::integer(q) : Value::integer(x - q * y);
      }
    } else if (op == "**") {
      if (numbers) {
        if (!floats && b.as_int() >= 0) {
          int64_t result = 1;
          for (int64_t i = 0; i < b.as_int(); ++i) result *= a.as_int();
          return Value::integer(result);
        }
        return Value::real(std::pow(a.as_double(), b.as_double()));
      }
    }
    fail("chat template: unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(),
         b.type_name());
  }

  Value eval(const Expr& expr) {
    switch (expr.type) {
      case Expr::Type::kLiteral:
        return expr.literal;
      case Expr::Type::kName:
        return lookup(expr.name);
      case Expr::Type::kGetAttr:
        return get_attribute(eval(*expr.target), expr.name);
      case Expr::Type::kGetItem:
        return get_item(eval(*expr.target), eval(*expr.args[0]));
      case Expr::Type::kSlice: {
        const auto part = [&](size_t i) { return expr.args[i] ? eval(*expr.args[i]) : Value(); };
        return get_slice(eval(*expr.target), part(0), part(1), part(2));
      }
      case Expr::Type::kCall: {
        const Value callee = eval(*expr.target);
        if (callee.is_undefined()) fail_undefined(callee);
        if (!callee.is_function())
          fail("chat template: '{}' object is not callable", callee.type_name());
        List args;
        Kwargs kwargs;
        evaluate_args(expr, args, kwargs);
        return callee.call(args, kwargs);
      }
      case Expr::Type::kFilter:
        return apply_filter_expr(expr, eval(*expr.target));
      case Expr::Type::kTest: {
        const Value subject = eval(*expr.target);
        List args;
        for (const auto& a : expr.args) args.push_back(eval(*a));
        return Value::boolean(apply_test(expr.name, subject, args) != expr.negated);
      }
      case Expr::Type::kNeg:
      case Expr::Type::kPos: {
        const Value v = eval(*expr.target);
        if (v.is_undefined()) fail_undefined(v);
        if (!v.is_number())
          fail("chat template: bad operand type for unary {}: '{}'",
               expr.type == Expr::Type::kNeg ? '-' : '+', v.type_name());
        if (expr.type == Expr::Type::kPos)
          return v.kind() == Value::Kind::kBool ? Value::integer(v.as_int()) : v;
        return v.kind() == Value::Kind::kFloat ? Value::real(-v.as_double())
                                               : Value::integer(-v.as_int());
      }
      case Expr::Type::kNot:
        return Value::boolean(!eval(*expr.target).truthy());
      case Expr::Type::kBinary:
        return arithmetic(expr.name, eval(*expr.target), eval(*expr.args[0]));
      case Expr::Type::kCompare: {
        Value left = eval(*expr.target);
        for (size_t i = 0; i < expr.ops.size(); ++i) {
          Value right = eval(*expr.args[i]);
          const std::string& op = expr.ops[i];
          bool ok;
          if (op == "==")
            ok = equal(left, right);
          else if (op == "!=")
            ok = !equal(left, right);
          else if (op == "in")
            ok = contains(right, left);
          else if (op == "notin")
            ok = !contains(right, left);
          else {
            const int c = compare(left, right);
            ok = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
          }
          if (!ok) return Value::boolean(false);
          left = std::move(right);
        }
        return Value::boolean(true);
      }
      case Expr::Type::kAnd: {
        Value left = eval(*expr.target);
        return left.truthy() ? eval(*expr.args[0]) : left;
      }
      case Expr::Type::kOr: {
        Value left = eval(*expr.target);
        return left.truthy() ? left : eval(*expr.args[0]);
      }
      case Expr::Type::kCondition:
        if (eval(*expr.args[0]).truthy()) return eval(*expr.args[1]);
        return expr.args[2] ? eval(*expr.args[2]) : Value();
      case Expr::Type::kList:
      case Expr::Type::kTuple: {
        List items;
        for (const auto& a : expr.args) items.push_back(eval(*a));
        return Value::list(std::move(items), expr.type == Expr::Type::kTuple);
      }
      case Expr::Type::kDict: {
        Dict d;
        for (size_t i = 0; i + 1 < expr.args.size(); i += 2) {
          const Value key = eval(*expr.args[i]);
          if (!key.is_string())
            fail("chat template: dict keys must be strings here, found {}", key.type_name());
          d.set(key.as_string(), eval(*expr.args[i + 1]));
        }
        return Value::dict(std::move(d));
      }
    }
    return Value();
  }

  const Template::Parsed& parsed_;
  Dict context_;
  std::vector<Dict> frames_;
};

// The names a template reads and never assigns (jinja2.meta.find_undeclared_variables, which
// reports a name assigned anywhere in the template as declared).
void collect_names(const Expr* expr, std::set<std::string, std::less<>>& read) {
  if (!expr) return;
  if (expr->type == Expr::Type::kName) read.insert(expr->name);
  collect_names(expr->target.get(), read);
  for (const auto& a : expr->args) collect_names(a.get(), read);
  for (const auto& [k, v] : expr->kwargs) collect_names(v.get(), read);
}

void collect_names(const Body& body, std::set<std::string, std::less<>>& read,
                   std::set<std::string, std::less<>>& assigned) {
  for (const Node& node : body) {
    collect_names(node.expr.get(), read);
    collect_names(node.condition.get(), read);
    for (const auto& [condition, branch] : node.branches) {
      collect_names(condition.get(), read);
      collect_names(branch, read, assigned);
    }
    collect_names(node.body, read, assigned);
    collect_names(node.else_body, read, assigned);
    for (const auto& [name, fallback] : node.params) {
      assigned.insert(name);
      collect_names(fallback.get(), read);
    }
    if (node.type == Node::Type::kFor ||
        ((node.type == Node::Type::kSet || node.type == Node::Type::kSetBlock) &&
         node.attr.empty()))
      assigned.insert(node.targets.begin(), node.targets.end());
    if (node.type == Node::Type::kFor) assigned.insert("loop");
    if (node.type == Node::Type::kMacro) assigned.insert(node.name);
  }
}

}  // namespace

Template::Template(std::string_view source, std::string origin) {
  auto parsed = std::make_unique<Parsed>();
  parsed->origin = std::move(origin);
  parsed->body = parse_template(source, parsed->origin);
  std::set<std::string, std::less<>> read, assigned;
  collect_names(parsed->body, read, assigned);
  for (const auto& name : read)
    if (!assigned.count(name)) parsed->undeclared.insert(name);
  parsed_ = std::move(parsed);
}

Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const nlohmann::ordered_json& context) const {
  Renderer renderer(*parsed_, context);
  return renderer.run();
}

bool Template::reads_variable(std::string_view name) const {
  return parsed_->undeclared.count(name) > 0;
}

}  // namespace embedtune::jinja
