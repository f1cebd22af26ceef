// The lexer of chat templates: text, {{ }} and {% %} tags, comments and whitespace control.
#include "tokenizer/jinja/lexer.h"

#include <cctype>
#include <cstdlib>

#include "io/error.h"

namespace embedtune::jinja {
namespace {

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

}  // namespace

std::vector<Segment> lex_template(std::string_view source, const std::string& origin) {
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
  return lexer.run();
}

}  // namespace embedtune::jinja
