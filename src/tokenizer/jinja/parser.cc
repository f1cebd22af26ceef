// The parser of chat templates, as jinja2/parser.py reads them with transformers' environment
// (the loopcontrols extension): lexer.h's segments into ast.h's tree.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include "io/error.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/lexer.h"

namespace embedtune::jinja {
namespace {

// Recursive descent over the segments, following jinja2/parser.py's grammar and precedence.
class Parser {
 public:
  Parser(std::vector<Segment> segments, const std::string& origin)
      : segments_(std::move(segments)), origin_(origin) {}

  Body run() {
    std::string stopped;
    Body body = parse_body({}, stopped);
    return body;
  }

 private:
  [[noreturn]] void fail_at(int line, const std::string& what) const {
    fail("{}:{}: {}", origin_, line, what);
  }

  // ---- statements ----

  // Parses until a block tag whose first word is in `stops` (which is consumed: `stopped` names
  // it and the tag's tokens are left in tokens_ for the caller); at the end of the template
  // when `stops` is empty.
  Body parse_body(const std::set<std::string>& stops, std::string& stopped) {
    Body body;
    while (seg_ < segments_.size()) {
      Segment& segment = segments_[seg_++];
      if (segment.kind == Segment::Kind::kText) {
        Node node;
        node.type = Node::Type::kText;
        node.line = segment.line;
        node.text = std::move(segment.text);
        body.push_back(std::move(node));
        continue;
      }
      begin(segment);
      if (segment.kind == Segment::Kind::kVariable) {
        Node node;
        node.type = Node::Type::kOutput;
        node.line = segment.line;
        node.expr = parse_expression();
        expect_end();
        body.push_back(std::move(node));
        continue;
      }
      if (peek().kind != Token::Kind::kName)
        fail_at(segment.line, "expected a statement name after {%");
      const std::string word = peek().text;
      if (stops.count(word)) {
        ++tok_;
        stopped = word;
        return body;
      }
      ++tok_;
      body.push_back(parse_statement(word, segment.line));
    }
    if (!stops.empty()) {
      std::string names;
      for (const auto& s : stops) names += (names.empty() ? "" : " or ") + s;
      fail_at(segments_.empty() ? 1 : segments_.back().line,
              fmt::format("unexpected end of template: expected {{% {} %}}", names));
    }
    return body;
  }

  Node parse_statement(const std::string& word, int line) {
    Node node;
    node.type = Node::Type::kText;
    node.line = line;
    std::string stopped;
    if (word == "if") {
      node.type = Node::Type::kIf;
      ExprPtr condition = parse_expression();
      expect_end();
      while (true) {
        Body body = parse_body({"elif", "else", "endif"}, stopped);
        node.branches.emplace_back(std::move(condition), std::move(body));
        if (stopped == "elif") {
          condition = parse_expression();
          expect_end();
          continue;
        }
        if (stopped == "else") {
          expect_end();
          node.else_body = parse_body({"endif"}, stopped);
        }
        expect_end();
        break;
      }
    } else if (word == "for") {
      node.type = Node::Type::kFor;
      node.targets = parse_targets();
      expect_name("in");
      node.expr = parse_expression(/*with_condexpr=*/false);
      if (accept_name("if")) node.condition = parse_expression();
      if (accept_name("recursive")) fail_at(line, "recursive for loops are not supported");
      expect_end();
      node.body = parse_body({"else", "endfor"}, stopped);
      if (stopped == "else") {
        expect_end();
        node.else_body = parse_body({"endfor"}, stopped);
      }
      expect_end();
    } else if (word == "set") {
      node.targets = parse_targets();
      if (accept_op(".")) {
        if (node.targets.size() != 1) fail_at(line, "cannot assign an attribute of a tuple");
        node.attr = expect_kind(Token::Kind::kName, "an attribute name").text;
      }
      if (accept_op("=")) {
        node.type = Node::Type::kSet;
        node.expr = parse_tuple_expression();
        expect_end();
      } else {
        if (node.targets.size() != 1 || !node.attr.empty()) fail_at(line, "expected '=' in set");
        node.type = Node::Type::kSetBlock;
        expect_end();
        node.body = parse_body({"endset"}, stopped);
        expect_end();
      }
    } else if (word == "macro") {
      node.type = Node::Type::kMacro;
      node.name = expect_kind(Token::Kind::kName, "a macro name").text;
      expect_op("(");
      while (!accept_op(")")) {
        if (!node.params.empty()) expect_op(",");
        if (accept_op(")")) break;
        std::string param = expect_kind(Token::Kind::kName, "a parameter name").text;
        ExprPtr default_value;
        if (accept_op("=")) default_value = parse_expression();
        node.params.emplace_back(std::move(param), std::move(default_value));
      }
      expect_end();
      node.body = parse_body({"endmacro"}, stopped);
      expect_end();
    } else if (word == "break" || word == "continue") {
      node.type = word == "break" ? Node::Type::kBreak : Node::Type::kContinue;
      expect_end();
    } else if (word == "filter") {
      node.type = Node::Type::kFilterBlock;
      node.expr = parse_filter(nullptr, line);
      expect_end();
      node.body = parse_body({"endfilter"}, stopped);
      expect_end();
    } else if (word == "generation") {
      node.type = Node::Type::kScope;
      expect_end();
      node.body = parse_body({"endgeneration"}, stopped);
      expect_end();
    } else {
      fail_at(line, fmt::format("the Jinja statement '{}' is not supported in chat templates here "
                                "(supported: if, for, set, macro, break, continue, filter, "
                                "generation)",
                                word));
    }
    return node;
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    const bool paren = accept_op("(");
    do {
      names.push_back(expect_kind(Token::Kind::kName, "a variable name").text);
    } while (accept_op(","));
    if (paren) expect_op(")");
    return names;
  }

  // ---- expressions ----

  ExprPtr make(Expr::Type type, int line) {
    auto e = std::make_unique<Expr>();
    e->type = type;
    e->line = line;
    return e;
  }

  // `a, b` without brackets is a tuple (set x = a, b).
  ExprPtr parse_tuple_expression() {
    const int line = peek().line;
    ExprPtr first = parse_expression();
    if (!is_op(",")) return first;
    ExprPtr tuple = make(Expr::Type::kTuple, line);
    tuple->args.push_back(std::move(first));
    while (accept_op(",")) {
      if (at_end()) break;
      tuple->args.push_back(parse_expression());
    }
    return tuple;
  }

  ExprPtr parse_expression(bool with_condexpr = true) {
    ExprPtr expr = parse_or();
    if (!with_condexpr) return expr;
    while (is_name("if")) {
      const int line = next().line;
      ExprPtr condition = parse_or();
      ExprPtr otherwise;
      if (accept_name("else")) otherwise = parse_expression();
      ExprPtr node = make(Expr::Type::kCondition, line);
      node->args.push_back(std::move(condition));
      node->args.push_back(std::move(expr));
      node->args.push_back(std::move(otherwise));
      expr = std::move(node);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      ExprPtr node = make(Expr::Type::kOr, next().line);
      node->target = std::move(left);
      node->args.push_back(parse_and());
      left = std::move(node);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      ExprPtr node = make(Expr::Type::kAnd, next().line);
      node->target = std::move(left);
      node->args.push_back(parse_not());
      left = std::move(node);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      ExprPtr node = make(Expr::Type::kNot, next().line);
      node->target = parse_not();
      return node;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const int line = peek().line;
    ExprPtr left = parse_math1();
    ExprPtr node;
    while (true) {
      std::string op;
      if (is_op("==") || is_op("!=") || is_op("<") || is_op("<=") || is_op(">") || is_op(">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && peek(1).kind == Token::Kind::kName && peek(1).text == "in") {
        tok_ += 2;
        op = "notin";
      } else {
        break;
      }
      if (!node) {
        node = make(Expr::Type::kCompare, line);
        node->target = std::move(left);
      }
      node->ops.push_back(op);
      node->args.push_back(parse_math1());
    }
    return node ? std::move(node) : std::move(left);
  }

  ExprPtr binary(ExprPtr left, const std::string& op, ExprPtr right, int line) {
    ExprPtr node = make(Expr::Type::kBinary, line);
    node->name = op;
    node->target = std::move(left);
    node->args.push_back(std::move(right));
    return node;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& op = next();
      left = binary(std::move(left), op.text, parse_concat(), op.line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      const Token& op = next();
      left = binary(std::move(left), "~", parse_math2(), op.line);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& op = next();
      left = binary(std::move(left), op.text, parse_pow(), op.line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary();
    while (is_op("**")) {
      const Token& op = next();
      left = binary(std::move(left), "**", parse_unary(), op.line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter = true) {
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      const Token& op = next();
      node = make(op.text == "-" ? Expr::Type::kNeg : Expr::Type::kPos, op.line);
      node->target = parse_unary(false);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& token = peek();
    const int line = token.line;
    if (token.kind == Token::Kind::kName) {
      next();
      if (token.text == "true" || token.text == "True" || token.text == "false" ||
          token.text == "False") {
        ExprPtr node = make(Expr::Type::kLiteral, line);
        node->literal = Value::boolean(token.text[0] == 't' || token.text[0] == 'T');
        return node;
      }
      if (token.text == "none" || token.text == "None") {
        ExprPtr node = make(Expr::Type::kLiteral, line);
        node->literal = Value::none();
        return node;
      }
      ExprPtr node = make(Expr::Type::kName, line);
      node->name = token.text;
      return node;
    }
    if (token.kind == Token::Kind::kString) {
      std::string text;
      while (peek().kind == Token::Kind::kString) text += next().text;  // adjacent literals join
      ExprPtr node = make(Expr::Type::kLiteral, line);
      node->literal = Value::string(std::move(text));
      return node;
    }
    if (token.kind == Token::Kind::kInt || token.kind == Token::Kind::kFloat) {
      next();
      ExprPtr node = make(Expr::Type::kLiteral, line);
      node->literal = token.value;
      return node;
    }
    if (accept_op("(")) {
      if (accept_op(")")) return make(Expr::Type::kTuple, line);
      ExprPtr first = parse_expression();
      if (accept_op(")")) return first;
      ExprPtr tuple = make(Expr::Type::kTuple, line);
      tuple->args.push_back(std::move(first));
      while (accept_op(",")) {
        if (is_op(")")) break;
        tuple->args.push_back(parse_expression());
      }
      expect_op(")");
      return tuple;
    }
    if (accept_op("[")) {
      ExprPtr list = make(Expr::Type::kList, line);
      while (!accept_op("]")) {
        if (!list->args.empty()) {
          expect_op(",");
          if (accept_op("]")) break;
        }
        list->args.push_back(parse_expression());
      }
      return list;
    }
    if (accept_op("{")) {
      ExprPtr dict = make(Expr::Type::kDict, line);
      while (!accept_op("}")) {
        if (!dict->args.empty()) {
          expect_op(",");
          if (accept_op("}")) break;
        }
        dict->args.push_back(parse_expression());
        expect_op(":");
        dict->args.push_back(parse_expression());
      }
      return dict;
    }
    if (token.kind == Token::Kind::kEnd)
      fail_at(line, "unexpected end of tag: expected an expression");
    fail_at(line, fmt::format("unexpected '{}'", token.text));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        const int line = next().line;
        const Token& attr = next();
        if (attr.kind == Token::Kind::kName) {
          ExprPtr get = make(Expr::Type::kGetAttr, line);
          get->target = std::move(node);
          get->name = attr.text;
          node = std::move(get);
        } else if (attr.kind == Token::Kind::kInt) {
          ExprPtr get = make(Expr::Type::kGetItem, line);
          get->target = std::move(node);
          ExprPtr index = make(Expr::Type::kLiteral, line);
          index->literal = attr.value;
          get->args.push_back(std::move(index));
          node = std::move(get);
        } else {
          fail_at(line, "expected an attribute name after '.'");
        }
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const int line = next().line;  // [
    std::vector<ExprPtr> parts(1);
    bool slice = false;
    if (!is_op(":")) parts[0] = parse_expression();
    while (accept_op(":")) {
      slice = true;
      parts.emplace_back();
      if (!is_op(":") && !is_op("]")) parts.back() = parse_expression();
    }
    expect_op("]");
    if (slice && parts.size() > 3) fail_at(line, "a slice takes at most three parts");
    ExprPtr get = make(slice ? Expr::Type::kSlice : Expr::Type::kGetItem, line);
    get->target = std::move(node);
    parts.resize(slice ? 3 : 1);
    get->args = std::move(parts);
    return get;
  }

  void parse_call_args(Expr& call) {
    expect_op("(");
    while (!accept_op(")")) {
      if (!call.args.empty() || !call.kwargs.empty()) {
        expect_op(",");
        if (accept_op(")")) break;
      }
      if (peek().kind == Token::Kind::kName && peek(1).kind == Token::Kind::kOp &&
          peek(1).text == "=") {
        std::string key = next().text;
        next();
        call.kwargs.emplace_back(std::move(key), parse_expression());
      } else {
        if (!call.kwargs.empty())
          fail_at(peek().line, "a positional argument follows a keyword argument");
        call.args.push_back(parse_expression());
      }
    }
  }

  ExprPtr parse_call(ExprPtr node) {
    ExprPtr call = make(Expr::Type::kCall, peek().line);
    call->target = std::move(node);
    parse_call_args(*call);
    return call;
  }

  ExprPtr parse_filter(ExprPtr node, int line) {
    ExprPtr filter = make(Expr::Type::kFilter, line);
    filter->target = std::move(node);
    filter->name = expect_kind(Token::Kind::kName, "a filter name").text;
    while (accept_op("."))
      filter->name += "." + expect_kind(Token::Kind::kName, "a filter name").text;
    if (!has_filter(filter->name)) fail_at(line, fmt::format("no filter named '{}'", filter->name));
    if (is_op("(")) parse_call_args(*filter);
    return filter;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        const int line = next().line;
        node = parse_filter(std::move(node), line);
      } else if (is_name("is")) {
        const int line = next().line;
        ExprPtr test = make(Expr::Type::kTest, line);
        test->negated = accept_name("not");
        test->name = expect_kind(Token::Kind::kName, "a test name").text;
        while (accept_op("."))
          test->name += "." + expect_kind(Token::Kind::kName, "a test name").text;
        if (!has_test(test->name)) fail_at(line, fmt::format("no test named '{}'", test->name));
        test->target = std::move(node);
        if (is_op("(")) {
          parse_call_args(*test);
        } else {
          const Token& t = peek();
          const bool starts_value =
              t.kind == Token::Kind::kString || t.kind == Token::Kind::kInt ||
              t.kind == Token::Kind::kFloat ||
              (t.kind == Token::Kind::kName && t.text != "else" && t.text != "or" &&
               t.text != "and") ||
              (t.kind == Token::Kind::kOp && (t.text == "[" || t.text == "{"));
          if (starts_value) {
            if (t.kind == Token::Kind::kName && t.text == "is")
              fail_at(t.line, "You cannot chain multiple tests with is");
            test->args.push_back(parse_postfix(parse_primary()));
          }
        }
        node = std::move(test);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  // ---- token access ----

  void begin(const Segment& segment) {
    tokens_ = &segment.tokens;
    tok_ = 0;
    end_token_.line = segment.line;
  }
  const Token& peek(size_t ahead = 0) const {
    return tok_ + ahead < tokens_->size() ? (*tokens_)[tok_ + ahead] : end_token_;
  }
  const Token& next() {
    const Token& t = peek();
    if (tok_ < tokens_->size()) ++tok_;
    return t;
  }
  bool at_end() const { return tok_ >= tokens_->size(); }
  bool is_op(std::string_view op) const {
    return peek().kind == Token::Kind::kOp && peek().text == op;
  }
  bool is_name(std::string_view name) const {
    return peek().kind == Token::Kind::kName && peek().text == name;
  }
  bool accept_op(std::string_view op) {
    if (!is_op(op)) return false;
    ++tok_;
    return true;
  }
  bool accept_name(std::string_view name) {
    if (!is_name(name)) return false;
    ++tok_;
    return true;
  }
  void expect_op(std::string_view op) {
    if (!accept_op(op))
      fail_at(peek().line, fmt::format("expected '{}', found {}", op, describe(peek())));
  }
  void expect_name(std::string_view name) {
    if (!accept_name(name))
      fail_at(peek().line, fmt::format("expected '{}', found {}", name, describe(peek())));
  }
  const Token& expect_kind(Token::Kind kind, const char* what) {
    if (peek().kind != kind)
      fail_at(peek().line, fmt::format("expected {}, found {}", what, describe(peek())));
    return next();
  }
  void expect_end() {
    if (!at_end())
      fail_at(peek().line, fmt::format("expected the end of the tag, found {}", describe(peek())));
  }
  static std::string describe(const Token& t) {
    return t.kind == Token::Kind::kEnd ? "the end of the tag" : "'" + t.text + "'";
  }

  std::vector<Segment> segments_;
  const std::string& origin_;
  size_t seg_ = 0;
  const std::vector<Token>* tokens_ = nullptr;
  size_t tok_ = 0;
  Token end_token_;
};

}  // namespace

Body parse_template(std::string_view source, const std::string& origin) {
  Parser parser(lex_template(source, origin), origin);
  return parser.run();
}

}  // namespace embedtune::jinja
