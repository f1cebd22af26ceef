// Parity with sentence-transformers 6.2: every metric at every Matryoshka dimension, cosine and
// dot, on the oracle's stored embeddings (duplicates, a 120-way tie, a zero query, dropped
// queries).
//
// What can be promised, and so what is asserted:
// - Where our score blocks have ST's shapes (all queries x one corpus chunk), every score is
//   the same float32 on any x86 CPU, because both sides run the same LibTorch kernels on the
//   same operands: the rankings and every metric are bit-identical (asserted with ==).
// - With other blocks (a query chunk smaller than the query count), GEMM may round a score
//   differently (MKL picks kernels and blocking by shape and by CPU), so two documents whose
//   scores are equal or nearly equal in exact arithmetic can swap places. There we assert that
//   every rank where our list differs from ST's holds a near-tie: documents whose exact (float64)
//   scores differ by at most kNearTie.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "evaluation/information_retrieval_evaluator.h"
#include "evaluation/results_io.h"
#include "evaluation_test_support.h"

namespace embedtune::evaluation {
namespace {

using testing::load_expected;
using testing::load_oracle_data;
using testing::oracle_dir;

// float32 dot products of 384 terms of size <= 1 round with an error below 384 * 2^-24 ~ 2.3e-5
// in the worst case; cosine scores are in [-1, 1], dot scores here up to ~60, so the bound is
// relative to the score's magnitude.
constexpr double kNearTie = 3e-5;

IrEvaluatorConfig st_config() {
  IrEvaluatorConfig c;  // ST's defaults
  c.score_functions = {"cosine", "dot"};
  return c;
}

// Same keys in the same order, the same doubles bit for bit.
void expect_identical(const MetricList& got, const MetricList& want, const std::string& label) {
  ASSERT_EQ(got.size(), want.size()) << label;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].first, want[i].first) << label << " key " << i;
    EXPECT_EQ(got[i].second, want[i].second) << label << " " << want[i].first;
  }
  std::printf("%s: %zu metrics, all bit-identical to ST's\n", label.c_str(), want.size());
}

// ST's write_predictions file: per kept query, the ranked corpus ids.
std::vector<std::vector<std::string>> load_st_ranking(int64_t chunk, int64_t dim,
                                                      const std::string& score) {
  const auto path = oracle_dir() / ("predictions_chunk" + std::to_string(chunk)) /
                    ("Information-Retrieval_evaluation_dim_" + std::to_string(dim) +
                     "_predictions_" + score + ".jsonl");
  std::vector<std::vector<std::string>> out;
  std::istringstream lines(testing::read_text(path));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const nlohmann::json prediction = nlohmann::json::parse(line);
    std::vector<std::string> ids;
    for (const auto& hit : prediction.at("results"))
      ids.push_back(hit.at("corpus_id").get<std::string>());
    out.push_back(std::move(ids));
  }
  return out;
}

struct Ranked {
  at::Tensor queries;  // the kept queries, (Q, d)
  at::Tensor corpus;   // (C, d)
  std::vector<std::vector<std::string>> ids;
};

// Our ranking of the kept queries (those with relevant documents, as ST keeps them).
Ranked our_ranking(const testing::OracleData& data, int64_t dim, const std::string& score,
                   int64_t corpus_chunk, int64_t query_chunk) {
  std::vector<int64_t> kept;
  for (size_t i = 0; i < data.query_ids.size(); ++i) {
    auto it = data.relevant.find(data.query_ids[i]);
    if (it != data.relevant.end() && !it->second.empty()) kept.push_back(static_cast<int64_t>(i));
  }
  Ranked r;
  r.queries = data.queries.narrow(1, 0, dim).index_select(0, at::tensor(kept, at::kLong));
  r.corpus = data.corpus.narrow(1, 0, dim);
  const auto hits =
      top_k_hits(r.queries, r.corpus, data.corpus_ids, score, 100, corpus_chunk, query_chunk);
  for (const auto& list : hits) {
    std::vector<std::string> ids;
    for (int64_t row : list) ids.push_back(data.corpus_ids[row]);
    r.ids.push_back(std::move(ids));
  }
  return r;
}

TEST(Parity, RankingsAreSentenceTransformersOwnWhereTheBlocksHaveItsShapes) {
  const auto data = load_oracle_data();
  for (int64_t chunk : {50000, 37}) {
    for (int64_t dim : {384, 32}) {
      for (const std::string score : {"cosine", "dot"}) {
        const auto st = load_st_ranking(chunk, dim, score);
        const Ranked ours = our_ranking(data, dim, score, chunk, /*query_chunk=*/0);
        ASSERT_EQ(ours.ids.size(), st.size());
        for (size_t q = 0; q < st.size(); ++q) {
          EXPECT_EQ(ours.ids[q], st[q])
              << "chunk " << chunk << " dim " << dim << " " << score << " query " << q;
        }
      }
    }
  }
}

TEST(Parity, OtherChunkingsDifferFromSentenceTransformersOnlyAtNearTies) {
  const auto data = load_oracle_data();
  for (auto [corpus_chunk, query_chunk] : {std::pair<int64_t, int64_t>{7, 64}, {100, 13}}) {
    for (int64_t dim : {384, 32}) {
      for (const std::string score : {"cosine", "dot"}) {
        const auto st = load_st_ranking(50000, dim, score);
        const Ranked ours = our_ranking(data, dim, score, corpus_chunk, query_chunk);
        ASSERT_EQ(ours.ids.size(), st.size());
        // Exact scores, in float64, of the documents at the ranks that differ.
        at::Tensor q64 = ours.queries.to(at::kDouble), c64 = ours.corpus.to(at::kDouble);
        if (score == "cosine") {
          q64 = q64 / q64.norm(2, {1}, true).clamp_min(1e-12);
          c64 = c64 / c64.norm(2, {1}, true).clamp_min(1e-12);
        }
        std::unordered_map<std::string, int64_t> row_of;
        for (size_t i = 0; i < data.corpus_ids.size(); ++i)
          row_of[data.corpus_ids[i]] = static_cast<int64_t>(i);
        auto exact = [&](size_t q, const std::string& id) {
          return at::dot(q64[static_cast<int64_t>(q)], c64[row_of.at(id)]).item<double>();
        };
        int64_t differing_ranks = 0, differing_queries = 0;
        for (size_t q = 0; q < st.size(); ++q) {
          ASSERT_EQ(ours.ids[q].size(), st[q].size());
          bool differs = false;
          for (size_t rank = 0; rank < st[q].size(); ++rank) {
            if (ours.ids[q][rank] == st[q][rank]) continue;
            differs = true;
            ++differing_ranks;
            const double a = exact(q, ours.ids[q][rank]), b = exact(q, st[q][rank]);
            EXPECT_LE(std::abs(a - b), kNearTie * std::max(1.0, std::abs(b)))
                << "chunk " << corpus_chunk << "x" << query_chunk << " dim " << dim << " " << score
                << " query " << q << " rank " << rank << ": ours " << ours.ids[q][rank] << " (" << a
                << ") vs ST " << st[q][rank] << " (" << b << ")";
          }
          differing_queries += differs ? 1 : 0;
        }
        std::printf(
            "chunk %lld x %lld, dim %lld, %s: %lld ranks in %lld queries differ, all "
            "near-ties\n",
            static_cast<long long>(corpus_chunk), static_cast<long long>(query_chunk),
            static_cast<long long>(dim), score.c_str(), static_cast<long long>(differing_ranks),
            static_cast<long long>(differing_queries));
      }
    }
  }
}

TEST(Parity, MatryoshkaCosineAndDotMatchSentenceTransformers) {
  const auto data = load_oracle_data();
  nlohmann::ordered_json whole;
  const MetricList expected = load_expected(oracle_dir() / "results.json", &whole);
  const IrResults got = evaluate_matryoshka(data.queries, data.corpus, data.query_ids,
                                            data.corpus_ids, data.relevant, data.dims, st_config());
  expect_identical(got.metrics, expected, "SequentialEvaluator, dims 384/256/128/64/32");
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

TEST(Parity, CorpusChunk37MatchesSentenceTransformersChunk37) {
  // ST itself with corpus_chunk_size 37 (its tie re-selection per chunk) and ours with the same
  // blocks: the same metrics, bit for bit.
  const auto data = load_oracle_data();
  const MetricList expected = load_expected(oracle_dir() / "results_chunk37.json");
  IrEvaluatorConfig c = st_config();
  c.corpus_chunk_size = 37;
  const IrResults got = evaluate_matryoshka(data.queries, data.corpus, data.query_ids,
                                            data.corpus_ids, data.relevant, {384, 32}, c);
  expect_identical(got.metrics, expected, "chunk 37");
}

TEST(Parity, CsvFilesMatchSentenceTransformers) {
  const auto data = load_oracle_data();
  const IrResults got = evaluate_matryoshka(data.queries, data.corpus, data.query_ids,
                                            data.corpus_ids, data.relevant, data.dims, st_config());
  testing::ScratchDir dir;
  append_matryoshka_csvs(dir.path(), data.dims, st_config(), got.metrics);
  for (int64_t d : data.dims) {
    const std::string file = ir_csv_file_name("dim_" + std::to_string(d));
    const std::string ours = testing::read_text(dir.path() / file);
    const std::string theirs = testing::read_text(oracle_dir() / "st_csv" / file);
    // ST writes repr() of the same doubles: the files are the same bytes.
    EXPECT_EQ(ours, theirs) << file;
  }
}

}  // namespace
}  // namespace embedtune::evaluation
