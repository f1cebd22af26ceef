// Fuzz target: a dataset file in JSON (an array of records), through every dataset reader.
#include "dataset_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  embedtune::fuzz::fuzz_dataset(embedtune::fuzz::as_text(data, size),
                                embedtune::data::DataFormat::kJson);
  return 0;
}
