// Fuzz target: io::read_json_file and io::read_ordered_json_file on arbitrary bytes, and
// io::json_preview (what error messages show of a value) on what they return.
#include "fuzz_support.h"
#include "io/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace embedtune;
  const auto path = fuzz::write_input("file.json", fuzz::as_text(data, size));
  const bool parsed = fuzz::run_reader(
      [&] {
        const std::string preview = io::json_preview(io::read_json_file(path));
        fuzz::require(preview.size() <= 83 && preview.find('\n') == std::string::npos,
                      "json_preview is one line of at most 80 characters and \"...\"");
      },
      {path});
  const bool parsed_ordered =
      fuzz::run_reader([&] { (void)io::read_ordered_json_file(path); }, {path});
  fuzz::require(parsed == parsed_ordered, "both readers accept the same files");
  return 0;
}
