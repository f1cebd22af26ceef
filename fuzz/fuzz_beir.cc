// Fuzz target: data::load_beir_retrieval_data on a BEIR corpus.jsonl, queries.jsonl and
// qrels.tsv, cut from one input at fuzz::kFileSeparator (a missing part is an empty file).
#include "data/retrieval_data.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace embedtune;
  const auto parts = fuzz::split_input(fuzz::as_text(data, size), 3);
  auto part = [&](size_t i) { return i < parts.size() ? parts[i] : std::string_view(); };
  const auto corpus = fuzz::write_input("beir/corpus.jsonl", part(0));
  const auto queries = fuzz::write_input("beir/queries.jsonl", part(1));
  const auto qrels = fuzz::write_input("beir/qrels.tsv", part(2));
  fuzz::run_reader(
      [&] {
        const data::RetrievalData beir = data::load_beir_retrieval_data(corpus, queries, qrels);
        fuzz::require(beir.corpus_ids.size() == beir.corpus_texts.size() &&
                          beir.query_ids.size() == beir.query_texts.size(),
                      "ids and texts are parallel");
        for (const auto& [query_id, documents] : beir.relevant) {
          fuzz::require(!documents.empty(), "a query in relevant has a relevant document");
        }
      },
      {corpus, queries, qrels});
  return 0;
}
