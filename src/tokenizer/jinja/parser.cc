// Lexer and parser for chat templates, as jinja2/lexer.py and jinja2/parser.py read them with
// transformers' environment (trim_blocks, lstrip_blocks, the loopcontrols extension).
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>

#include "io/error.h"
#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/builtins.h"

namespace embedtune::jinja {
namespace {

struct Token {
  enum class Kind { kName, kString, kInt, kFloat, kOp, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;  // name, operator, or the decoded string
  Value value;       // numbers
  int line = 0;
};

// A piece of the template: text, or the tokens of a {{ }} or {% %} tag.
struct Segment {
  enum class Kind { kText, kVariable, kBlock };
  Kind kind;
  std::string text;
  std::vector<Token> tokens;
  int line = 0;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

class Lexer {
 public:
  Lexer(std::string source, const std::string& origin) : src_(std::move(source)), origin_(origin) {
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') newlines_.push_back(i);
  }

  std::vector<Segment> run() {
    std::vector<Segment> out;
    size_t pos = 0;
    bool strip_next = false;  // the previous tag ended with '-'
    while (pos < src_.size()) {
      size_t start = src_.find('{', pos);
      while (start != std::string::npos && start + 1 < src_.size() && src_[start + 1] != '{' &&
             src_[start + 1] != '%' && src_[start + 1] != '#') {
        start = src_.find('{', start + 1);
      }
      if (start != std::string::npos && start + 1 >= src_.size()) start = std::string::npos;
      const size_t text_end = start == std::string::npos ? src_.size() : start;
      std::string text = src_.substr(pos, text_end - pos);
      const int text_line = line_at(pos);
      if (strip_next) {
        size_t k = 0;
        while (k < text.size() && is_space(text[k])) ++k;
        text.erase(0, k);
      }
      const bool line_starting = pos == 0 || src_[pos - 1] == '\n';
      if (start == std::string::npos) {
        push_text(out, std::move(text), text_line);
        break;
      }
      const char kind = src_[start + 1];
      size_t p = start + 2;
      const char modifier = p < src_.size() ? src_[p] : '\0';
      if (modifier == '-') {
        size_t k = text.size();
        while (k > 0 && is_space(text[k - 1])) --k;
        text.resize(k);
      } else if (modifier != '+' && (kind == '%' || kind == '#')) {
        // lstrip_blocks: spaces and tabs between a line start and the tag go.
        const size_t line_start = text.rfind('\n');
        const size_t from = line_start == std::string::npos ? 0 : line_start + 1;
        if (line_start != std::string::npos || line_starting) {
          bool blank = true;
          for (size_t k = from; k < text.size(); ++k) blank &= text[k] == ' ' || text[k] == '\t';
          if (blank) text.resize(from);
        }
      }
      if (modifier == '-' || modifier == '+') ++p;
      push_text(out, std::move(text), text_line);

      const int tag_line = line_at(start);
      bool strip_after = false;
      if (kind == '#') {
        const size_t end = src_.find("#}", p);
        if (end == std::string::npos) fail_at(tag_line, "unclosed comment: missing #}");
        strip_after = end > p && src_[end - 1] == '-';
        pos = end + 2;
        pos = trim_newline(pos, strip_after, end > p && src_[end - 1] == '+');
      } else {
        Segment segment;
        segment.kind = kind == '{' ? Segment::Kind::kVariable : Segment::Kind::kBlock;
        segment.line = tag_line;
        size_t q = p;
        bool keep_newline = false;
        lex_tokens(q, kind == '{' ? '}' : '%', segment.tokens, strip_after, keep_newline);
        pos = q;
        if (segment.kind == Segment::Kind::kBlock)
          pos = trim_newline(pos, strip_after, keep_newline);
        out.push_back(std::move(segment));
      }
      strip_next = strip_after;
    }
    return out;
  }

 private:
  [[noreturn]] void fail_at(int line, const std::string& what) const {
    fail("{}:{}: {}", origin_, line, what);
  }

  // 1 + the newlines before `pos`.
  int line_at(size_t pos) const {
    return 1 + static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), pos) -
                                newlines_.begin());
  }

  void push_text(std::vector<Segment>& out, std::string text, int line) {
    if (text.empty()) return;
    Segment segment;
    segment.kind = Segment::Kind::kText;
    segment.text = std::move(text);
    segment.line = line;
    out.push_back(std::move(segment));
  }

  // trim_blocks: the one newline right after a block or comment tag goes ('+%}' keeps it).
  size_t trim_newline(size_t pos, bool stripped, bool keep) const {
    if (!stripped && !keep && pos < src_.size() && src_[pos] == '\n') return pos + 1;
    return pos;
  }

  // The tokens of a tag from `pos` to its closing "}}" or "%}" (outside strings and, for }}, at
  // brace depth 0); `pos` ends past the closing.
  void lex_tokens(size_t& pos, char close, std::vector<Token>& tokens, bool& strip_after,
                  bool& keep_newline) {
    int depth = 0;
    while (true) {
      while (pos < src_.size() && is_space(src_[pos])) ++pos;
      if (pos >= src_.size())
        fail_at(line_at(pos), fmt::format("unclosed tag: missing {}}}", close));
      const auto at = [&](std::string_view s) { return src_.compare(pos, s.size(), s) == 0; };
      const std::string closing = std::string(1, close) + "}";
      if (depth == 0 || close == '%') {
        if (at("-" + closing)) {
          strip_after = true;
          pos += 3;
          return;
        }
        if (close == '%' && at("+" + closing)) {
          keep_newline = true;
          pos += 3;
          return;
        }
        if (at(closing)) {
          pos += 2;
          return;
        }
      }
      Token token;
      token.line = line_at(pos);
      const char c = src_[pos];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t end = pos;
        while (end < src_.size() &&
               (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_'))
          ++end;
        token.kind = Token::Kind::kName;
        token.text = src_.substr(pos, end - pos);
        pos = end;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number(pos, token);
      } else if (c == '\'' || c == '"') {
        lex_string(pos, token);
      } else {
        static const char* const kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*",
                                           "/",  "%",  "~",  "<",  ">",  "=",  "|", ".", ",",
                                           ":",  "(",  ")",  "[",  "]",  "{",  "}"};
        bool matched = false;
        for (const char* op : kOps) {
          if (at(op)) {
            token.kind = Token::Kind::kOp;
            token.text = op;
            pos += token.text.size();
            matched = true;
            break;
          }
        }
        if (!matched) fail_at(token.line, fmt::format("unexpected character '{}' in a tag", c));
        if (token.text == "{") ++depth;
        if (token.text == "}") --depth;
      }
      tokens.push_back(std::move(token));
    }
  }

  void lex_number(size_t& pos, Token& token) {
    size_t end = pos;
    bool is_float = false;
    std::string digits;
    const auto take_digits = [&] {
      while (end < src_.size() &&
             (std::isdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) {
        if (src_[end] != '_') digits += src_[end];
        ++end;
      }
    };
    take_digits();
    if (end + 1 < src_.size() && src_[end] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
      is_float = true;
      digits += '.';
      ++end;
      take_digits();
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t k = end + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && std::isdigit(static_cast<unsigned char>(src_[k]))) {
        is_float = true;
        digits += src_.substr(end, k - end);
        end = k;
        take_digits();
      }
    }
    token.kind = is_float ? Token::Kind::kFloat : Token::Kind::kInt;
    token.value = is_float ? Value::real(std::strtod(digits.c_str(), nullptr))
                           : Value::integer(std::strtoll(digits.c_str(), nullptr, 10));
    pos = end;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  // A string literal with Python's escapes, as Jinja decodes it.
  void lex_string(size_t& pos, Token& token) {
    const char quote = src_[pos++];
    std::string out;
    while (true) {
      if (pos >= src_.size()) fail_at(token.line, "unclosed string literal");
      const char c = src_[pos++];
      if (c == quote) break;
      if (c != '\\' || pos >= src_.size()) {
        out += c;
        continue;
      }
      const char e = src_[pos++];
      const auto hex = [&](int n) {
        if (pos + static_cast<size_t>(n) > src_.size())
          fail_at(token.line, "truncated escape in a string literal");
        const uint32_t cp = static_cast<uint32_t>(
            std::strtoul(src_.substr(pos, static_cast<size_t>(n)).c_str(), nullptr, 16));
        pos += static_cast<size_t>(n);
        append_utf8(out, cp);
      };
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '0':
          out += '\0';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case '\n':
          break;
        case 'x':
          hex(2);
          break;
        case 'u':
          hex(4);
          break;
        case 'U':
          hex(8);
          break;
        default:
          out += '\\';
          out += e;
      }
    }
    token.kind = Token::Kind::kString;
    token.text = std::move(out);
  }

  std::string src_;
  const std::string& origin_;
  std::vector<size_t> newlines_;  // offsets of '\n' in src_
};

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
  // As jinja2's lexer: "\r\n" and "\r" read as "\n", and one trailing newline is dropped.
  std::string text;
  text.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      text += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      text += source[i];
    }
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  Lexer lexer(std::move(text), origin);
  Parser parser(lexer.run(), origin);
  return parser.run();
}

}  // namespace embedtune::jinja
