// Parity with sentence-transformers 6.2: every metric at every Matryoshka dimension, cosine and
// dot, on the oracle's stored embeddings (duplicates, a 120-way tie, a zero query, dropped
// queries).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "evaluation/information_retrieval_evaluator.h"
#include "evaluation/results_io.h"
#include "evaluation_test_support.h"

namespace embedtune::evaluation {
namespace {

using testing::load_expected;
using testing::load_oracle_data;
using testing::oracle_dir;

IrEvaluatorConfig st_config() {
  IrEvaluatorConfig c;  // ST's defaults
  c.score_functions = {"cosine", "dot"};
  return c;
}

// Same keys in the same order, values within `tol`; prints the max difference.
void expect_same(const MetricList& got, const MetricList& want, const char* label) {
  ASSERT_EQ(got.size(), want.size()) << label;
  double max_diff = 0.0;
  size_t identical = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].first, want[i].first) << label << " key " << i;
    const double diff = std::abs(got[i].second - want[i].second);
    max_diff = std::max(max_diff, diff);
    identical += got[i].second == want[i].second ? 1 : 0;
    EXPECT_NEAR(got[i].second, want[i].second, 1e-6) << label << " " << want[i].first;
  }
  std::printf("%s: %zu metrics, max |diff| = %.3g, %zu bit-identical\n", label, want.size(),
              max_diff, identical);
}

TEST(Parity, MatryoshkaCosineAndDotMatchSentenceTransformers) {
  const auto data = load_oracle_data();
  nlohmann::ordered_json whole;
  const MetricList expected = load_expected(oracle_dir() / "results.json", &whole);
  const IrResults got = evaluate_matryoshka(data.queries, data.corpus, data.query_ids,
                                            data.corpus_ids, data.relevant, data.dims, st_config());
  expect_same(got.metrics, expected, "SequentialEvaluator, dims 384/256/128/64/32");
  // Each evaluator's primary metric, as ST chose it.
  for (int64_t d : data.dims) {
    IrEvaluatorConfig c = st_config();
    c.name = "dim_" + std::to_string(d);
    const IrResults one =
        evaluate_retrieval(data.queries.narrow(1, 0, d), data.corpus.narrow(1, 0, d),
                           data.query_ids, data.corpus_ids, data.relevant, c);
    EXPECT_EQ(one.primary_metric, whole.at("primary_metric").at(c.name).get<std::string>());
  }
}

TEST(Parity, SmallCorpusChunksMatchSentenceTransformersChunk37) {
  // ST itself with corpus_chunk_size 37 (its tie re-selection per chunk) and ours with several
  // chunkings must all give the default-chunk results.
  const auto data = load_oracle_data();
  const MetricList expected = load_expected(oracle_dir() / "results_chunk37.json");
  for (auto [corpus_chunk, query_chunk] :
       {std::pair<int64_t, int64_t>{37, 0}, {7, 64}, {100, 13}}) {
    IrEvaluatorConfig c = st_config();
    c.corpus_chunk_size = corpus_chunk;
    c.query_chunk_size = query_chunk;
    const IrResults got = evaluate_matryoshka(data.queries, data.corpus, data.query_ids,
                                              data.corpus_ids, data.relevant, {384, 32}, c);
    const std::string label =
        "chunk " + std::to_string(corpus_chunk) + " x " + std::to_string(query_chunk);
    expect_same(got.metrics, expected, label.c_str());
  }
}

TEST(Parity, CsvFilesMatchSentenceTransformers) {
  const auto data = load_oracle_data();
  const IrResults got = evaluate_matryoshka(data.queries, data.corpus, data.query_ids,
                                            data.corpus_ids, data.relevant, data.dims, st_config());
  testing::ScratchDir dir;
  append_matryoshka_csvs(dir.path(), data.dims, st_config(), got.metrics);
  size_t identical_files = 0;
  for (int64_t d : data.dims) {
    const std::string file = ir_csv_file_name("dim_" + std::to_string(d));
    const std::string ours = testing::read_text(dir.path() / file);
    const std::string theirs = testing::read_text(oracle_dir() / "st_csv" / file);
    const auto split = [](const std::string& text) {
      const size_t nl = text.find('\n');
      return std::pair{text.substr(0, nl), text.substr(nl + 1)};
    };
    const auto [our_header, our_row] = split(ours);
    const auto [st_header, st_row] = split(theirs);
    EXPECT_EQ(our_header, st_header) << file;
    // Values: numerically equal within 1e-6 (same digits when the doubles are identical).
    const auto values = [](const std::string& row) {
      std::vector<double> out;
      size_t start = 0;
      const std::string line = row.substr(0, row.find('\n'));
      while (start <= line.size()) {
        const size_t end = std::min(line.find(',', start), line.size());
        out.push_back(std::stod(line.substr(start, end - start)));
        start = end + 1;
      }
      return out;
    };
    const std::vector<double> a = values(our_row), b = values(st_row);
    ASSERT_EQ(a.size(), b.size()) << file;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6) << file << " column " << i;
    identical_files += ours == theirs ? 1 : 0;
  }
  std::printf("CSV: %zu of %zu files byte-identical to ST's\n", identical_files, data.dims.size());
}

}  // namespace
}  // namespace embedtune::evaluation
