// Per-query retrieval metrics and numpy's mean, mirroring sentence-transformers' compute_metrics.
#include "evaluation/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace embedtune::evaluation {
namespace {

// The hits ST's `top_hits[0:k_val]` slice looks at.
std::span<const std::string> top(std::span<const std::string> hits, int k) {
  const size_t n = k <= 0 ? 0 : std::min(hits.size(), static_cast<size_t>(k));
  return hits.first(n);
}

int count_relevant(std::span<const std::string> hits, const std::set<std::string>& relevant) {
  int n = 0;
  for (const auto& hit : hits) n += relevant.count(hit) > 0 ? 1 : 0;
  return n;
}

// numpy's pairwise_sum for float64 (numpy/_core/src/umath/loops_utils.h.src, PW_BLOCKSIZE 128).
double pairwise_sum(const double* a, size_t n) {
  if (n < 8) {
    double res = -0.0;  // numpy starts from -0.0 to keep the sign of an all -0.0 sum
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

}  // namespace

double accuracy_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant,
                     int k) {
  for (const auto& hit : top(hits, k)) {
    if (relevant.count(hit) > 0) return 1.0;
  }
  return 0.0;
}

double precision_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant,
                      int k) {
  return static_cast<double>(count_relevant(top(hits, k), relevant)) / static_cast<double>(k);
}

double recall_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant,
                   int k) {
  return static_cast<double>(count_relevant(top(hits, k), relevant)) /
         static_cast<double>(relevant.size());
}

double mrr_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant, int k) {
  const auto window = top(hits, k);
  for (size_t rank = 0; rank < window.size(); ++rank) {
    if (relevant.count(window[rank]) > 0) return 1.0 / static_cast<double>(rank + 1);
  }
  return 0.0;
}

double dcg_at_k(std::span<const int> relevances, int k) {
  // std::log2 equals numpy.log2 on every integer from 2 to 1620 (numpy's first disagreement is
  // 1621, one ulp), so ranks below 1619 give ST's bits exactly.
  double dcg = 0.0;
  const size_t n = k <= 0 ? 0 : std::min(relevances.size(), static_cast<size_t>(k));
  for (size_t i = 0; i < n; ++i) dcg += relevances[i] / std::log2(static_cast<double>(i + 2));
  return dcg;
}

double ndcg_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant, int k) {
  const auto window = top(hits, k);
  std::vector<int> predicted(window.size());
  for (size_t i = 0; i < window.size(); ++i) predicted[i] = relevant.count(window[i]) > 0 ? 1 : 0;
  const std::vector<int> ideal(relevant.size(), 1);
  return dcg_at_k(predicted, k) / dcg_at_k(ideal, k);
}

double map_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant, int k) {
  const auto window = top(hits, k);
  int num_correct = 0;
  double sum_precisions = 0.0;
  for (size_t rank = 0; rank < window.size(); ++rank) {
    if (relevant.count(window[rank]) > 0) {
      ++num_correct;
      sum_precisions += static_cast<double>(num_correct) / static_cast<double>(rank + 1);
    }
  }
  return sum_precisions / static_cast<double>(std::min(static_cast<size_t>(k), relevant.size()));
}

double numpy_mean(std::span<const double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  // The reduction starts from add's identity +0.0, then adds the pairwise sum of all values.
  return (0.0 + pairwise_sum(values.data(), values.size())) / static_cast<double>(values.size());
}

}  // namespace embedtune::evaluation
