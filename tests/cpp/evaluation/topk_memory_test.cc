// Exact top-k over a 1,000,000 x 64 corpus for 100 queries: the memory it adds to the data is a
// bounded working set (one corpus chunk and its score block), not a copy of the corpus or a score
// row per corpus entry. Without chunking the growth is over 600 MiB (a normalised corpus copy,
// 256 MB, and 100 x 1M scores, 400 MB); with ST's 50000-entry chunks it is about 100 MiB (with the
// thread pools' buffers).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>

#include "evaluation/information_retrieval_evaluator.h"

namespace embedtune::evaluation {
namespace {

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

TEST(TopKMemory, OneMillionCorpusAddsOnlyABoundedWorkingSet) {
  const int64_t n_corpus = 1'000'000, n_query = 100, dim = 64;
  at::manual_seed(0);
  const at::Tensor corpus = at::randn({n_corpus, dim});
  // Each query is a noisy copy of corpus row 10007 * i, so the expected top hit is known.
  const at::Tensor rows = at::arange(n_query, at::kLong) * 10007;
  const at::Tensor query = corpus.index_select(0, rows) + 0.01 * at::randn({n_query, dim});
  std::vector<std::string> ids;
  ids.reserve(n_corpus);
  for (int64_t i = 0; i < n_corpus; ++i) ids.push_back(std::to_string(i));
  const double before = peak_rss_mib();

  const auto start = std::chrono::steady_clock::now();
  const auto hits = top_k_hits(query, corpus, ids, "cosine", 100, 50000, 0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double peak = peak_rss_mib();
  std::printf("top-100 of 1M x 64 for 100 queries: %.2f s, peak RSS %.0f MiB (%.0f MiB before)\n",
              seconds, peak, before);
  ASSERT_EQ(hits.size(), 100u);
  for (int64_t i = 0; i < n_query; ++i) {
    ASSERT_EQ(hits[i].size(), 100u);
    EXPECT_EQ(hits[i][0], i * 10007);
  }
  // A chunk's working set: its normalised rows (12.8 MB), scores (20 MB), top-k and tie keys.
  EXPECT_LT(peak - before, 256.0) << "top-k grew peak memory by more than a chunk's working set";
  EXPECT_LT(seconds, 60.0);
}

}  // namespace
}  // namespace embedtune::evaluation
