// The lexer of chat templates, as jinja2/lexer.py reads them with transformers' environment
// (trim_blocks, lstrip_blocks): the template cut into text and the tokens of its tags.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace embedtune::jinja {

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

// The segments of `source`, with jinja2's newline normalisation ("\r\n" and "\r" read as "\n",
// one trailing newline dropped) and whitespace control applied to the text. Throws
// embedtune::Error naming `origin` and the line on a malformed tag or literal.
std::vector<Segment> lex_template(std::string_view source, const std::string& origin);

}  // namespace embedtune::jinja
