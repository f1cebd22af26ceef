// The parsed form of a chat template: expressions and statements as Jinja2's parser builds them
// (jinja2/nodes.py), for the subset chat templates use.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace embedtune::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Type {
    kLiteral,    // literal
    kName,       // name
    kGetAttr,    // target.name
    kGetItem,    // target[args[0]]
    kSlice,      // target[args[0]:args[1]:args[2]] (any may be null)
    kCall,       // target(args, kwargs)
    kFilter,     // target | name(args, kwargs); target null inside {% filter %}
    kTest,       // target is [not] name(args)
    kNeg,        // -target
    kPos,        // +target
    kNot,        // not target
    kBinary,     // target <name> args[0]: + - * / // % ** ~
    kCompare,    // target ops[0] args[0] ops[1] args[1] ... (==, !=, <, <=, >, >=, in, notin)
    kAnd,        // target and args[0]
    kOr,         // target or args[0]
    kCondition,  // args[1] if args[0] else args[2] (null: undefined)
    kList,       // [args...]
    kTuple,      // (args...)
    kDict,       // {args[0]: args[1], args[2]: args[3], ...}
  };
  Type type = Type::kLiteral;
  int line = 0;
  Value literal;
  std::string name;
  ExprPtr target;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

struct Node;
using Body = std::vector<Node>;

struct Node {
  enum class Type {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // branches: (condition, body) ...; else_body
    kFor,       // for targets in expr [if condition]: body; else_body
    kSet,       // set targets = expr, or set targets[0].attr = expr
    kSetBlock,  // set targets[0] %} body {% endset
    kMacro,     // macro name(params): body
    kBreak,
    kContinue,
    kFilterBlock,  // filter expr (a kFilter with a null target) %} body {% endfilter
    kScope,        // body rendered as is ({% generation %})
  };
  Type type = Type::kText;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr condition;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<std::string> targets;
  std::string attr;
  std::string name;
  std::vector<std::pair<std::string, ExprPtr>> params;  // default null: required
};

// Parses a template as Jinja2 does with transformers' environment: trim_blocks, lstrip_blocks,
// loopcontrols, newlines normalised to "\n" and one trailing newline dropped. Throws
// embedtune::Error "<origin>:<line>: ..." for a syntax error or a construct this subset lacks.
Body parse_template(std::string_view source, const std::string& origin);

}  // namespace embedtune::jinja
