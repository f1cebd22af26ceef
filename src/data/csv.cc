// RFC 4180 CSV parsing (see csv.h).
#include "data/csv.h"

#include <fmt/format.h>

#include "data/text.h"

namespace embedtune::data {
namespace {

bool is_line_break(char c) { return c == '\n' || c == '\r'; }

class CsvParser {
 public:
  explicit CsvParser(std::string_view text) : text_(text) {}

  CsvParseResult run() {
    while (pos_ < text_.size()) {
      if (is_line_break(text_[pos_])) {  // an empty line: no row
        consume_line_break();
        continue;
      }
      parse_row();
    }
    return std::move(result_);
  }

 private:
  // Consumes "\r\n", "\n" or "\r" at pos_ and counts the line.
  void consume_line_break() {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  // Moves past the end of the physical line that starts at or before `from`.
  void skip_to_next_line(std::size_t from) {
    pos_ = from;
    while (pos_ < text_.size() && !is_line_break(text_[pos_])) ++pos_;
    if (pos_ < text_.size()) consume_line_break();
  }

  void fail_row(std::size_t line, std::string message) {
    result_.errors.push_back({line, std::move(message)});
  }

  void parse_row() {
    const std::size_t row_start = pos_;
    const std::size_t row_line = line_;
    CsvRow row;
    row.line = row_line;
    while (true) {
      std::string field;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        ++pos_;
        bool closed = false;
        while (pos_ < text_.size()) {
          const char c = text_[pos_];
          if (c == '"') {
            if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
              field.push_back('"');
              pos_ += 2;
              continue;
            }
            ++pos_;
            closed = true;
            break;
          }
          if (c == '\n' || (c == '\r' && (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '\n'))) {
            ++line_;
          }
          field.push_back(c);
          ++pos_;
        }
        if (!closed) {
          fail_row(row_line,
                   "expected a closing double quote for a quoted field of the row starting on "
                   "this line, found the end of the file");
          line_ = row_line;
          skip_to_next_line(row_start);
          return;
        }
        if (pos_ < text_.size() && text_[pos_] != ',' && !is_line_break(text_[pos_])) {
          std::size_t n = 1;
          while (pos_ + n < text_.size() &&
                 (static_cast<unsigned char>(text_[pos_ + n]) & 0xC0) == 0x80)
            ++n;
          fail_row(line_, fmt::format("expected a comma or the end of the line after a closing "
                                      "double quote, found {} (write a quote inside a quoted "
                                      "field as \"\")",
                                      quote_for_message(text_.substr(pos_, n))));
          skip_to_next_line(pos_);
          return;
        }
      } else {
        const std::size_t begin = pos_;
        while (pos_ < text_.size() && text_[pos_] != ',' && !is_line_break(text_[pos_])) ++pos_;
        field.assign(text_.substr(begin, pos_ - begin));
      }
      row.fields.push_back(std::move(field));
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size()) consume_line_break();
      break;
    }
    result_.rows.push_back(std::move(row));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  CsvParseResult result_;
};

}  // namespace

CsvParseResult parse_csv(std::string_view text) { return CsvParser(text).run(); }

}  // namespace embedtune::data
