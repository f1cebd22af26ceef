// Fuzz target: a vocab.txt and tokenizer_config.json folder through read_bert_vocab_folder, the
// Tokenizer built from it, and encode(). The input is vocab.txt, then fuzz::kFileSeparator and
// tokenizer_config.json; without a separator there is no config file (it is optional).
#include "tokenizer/tokenizer_spec.h"
#include "tokenizer_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace embedtune;
  const auto parts = fuzz::split_input(fuzz::as_text(data, size), 2);
  const auto vocab = fuzz::write_input("vocab/vocab.txt", parts[0]);
  if (parts.size() > 1) {
    fuzz::write_input("vocab/tokenizer_config.json", parts[1]);
  } else {
    fuzz::remove_input("vocab/tokenizer_config.json");
  }
  const auto folder = vocab.parent_path();
  fuzz::run_reader([&] { fuzz::tokenize_with(read_bert_vocab_folder(folder)); }, {folder});
  return 0;
}
