// Reading the texts to encode or tokenize.
#include "data/text_input.h"

#include <fmt/format.h>

#include "data/records.h"
#include "data/text.h"
#include "io/error.h"
#include "io/file.h"

namespace embedtune::data {

std::vector<std::string> read_texts(const std::filesystem::path& path, const std::string& field,
                                    std::string_view field_flag) {
  if (path.extension() == ".txt") {
    const std::string bytes = io::read_file(path);
    if (auto bad = find_invalid_utf8(bytes)) {
      fail("{}:{}: invalid UTF-8 at byte {}; save the file as UTF-8", path.string(),
           line_of_offset(bytes, *bad), *bad);
    }
    std::vector<std::string> texts;
    size_t start = 0;
    while (start < bytes.size()) {
      size_t end = bytes.find('\n', start);
      if (end == std::string::npos) end = bytes.size();
      size_t stop = end;
      if (stop > start && bytes[stop - 1] == '\r') --stop;
      texts.emplace_back(bytes.substr(start, stop - start));
      start = end + 1;
    }
    return texts;
  }
  InvalidRows invalid(path, /*skip_invalid=*/false, "fix the file");
  const std::vector<Record> records = read_records(path, format_for_path(path), invalid);
  std::vector<std::string> texts;
  texts.reserve(records.size());
  for (std::vector<std::string>& row :
       text_fields(path, records, {field}, fmt::format("pass {} NAME", field_flag))) {
    texts.push_back(std::move(row[0]));
  }
  return texts;
}

}  // namespace embedtune::data
