// Fuzz target: a tokenizer.json through read_tokenizer_json, the Tokenizer built from it, and
// encode() on a few texts, with truncation.
#include "tokenizer/tokenizer_spec.h"
#include "tokenizer_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace embedtune;
  const auto path = fuzz::write_input("tokenizer.json", fuzz::as_text(data, size));
  fuzz::run_reader([&] { fuzz::tokenize_with(read_tokenizer_json(path)); }, {path});
  return 0;
}
