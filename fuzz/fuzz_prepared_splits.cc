// Fuzz target: data::load_prepared_retrieval_data on prepare's train.jsonl and test.jsonl, cut
// from one input at fuzz::kFileSeparator (a missing part is an empty file).
#include "data/retrieval_data.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace embedtune;
  const auto parts = fuzz::split_input(fuzz::as_text(data, size), 2);
  const auto train = fuzz::write_input("splits/train.jsonl", parts[0]);
  const auto test =
      fuzz::write_input("splits/test.jsonl", parts.size() > 1 ? parts[1] : std::string_view());
  fuzz::run_reader(
      [&] {
        const data::RetrievalData splits = data::load_prepared_retrieval_data(train, test);
        fuzz::require(splits.corpus_ids.size() == splits.corpus_texts.size() &&
                          splits.query_ids.size() == splits.query_texts.size() &&
                          splits.query_ids.size() == splits.relevant.size(),
                      "one query and one relevant set per test row");
      },
      {train, test});
  return 0;
}
