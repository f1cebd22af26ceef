// Retrieval metrics for one query's ranked hits, exactly as sentence-transformers'
// InformationRetrievalEvaluator.compute_metrics computes them (binary relevance), plus the
// averaging it uses (numpy.mean), so averaged values match it to the last bit. Pure: no I/O.
#pragma once

#include <set>
#include <span>
#include <string>
#include <vector>

namespace embedtune::evaluation {

// Every function below takes:
//   hits:     corpus ids in rank order, best first (may be shorter than k: a small corpus);
//   relevant: the ids relevant to the query; non-empty (queries without any are dropped before
//             scoring, as ST does). It may hold ids absent from the corpus: they count in
//             |relevant| but can never be hit;
//   k:        the cut-off, >= 1.
// Only hits[0 : min(k, hits.size())] are looked at.

// 1 if any of the top k hits is relevant, else 0 (ST averages these into accuracy@k).
double accuracy_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant,
                     int k);

// (relevant hits in the top k) / k; k, not min(k, hits), as ST divides.
double precision_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant,
                      int k);

// (relevant hits in the top k) / |relevant|.
double recall_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant, int k);

// 1 / (1-based rank of the first relevant hit in the top k), 0 if none.
double mrr_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant, int k);

// DCG@k / IDCG@k with DCG = sum over 0-based ranks i < k of rel_i / log2(i + 2), IDCG the same
// for min(|relevant|, k) relevant hits at the top.
double ndcg_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant, int k);

// Average precision at k (its mean over queries is MAP@k): sum over relevant hits at 0-based
// rank i < k of (relevant hits so far) / (i + 1), divided by min(k, |relevant|).
double map_at_k(std::span<const std::string> hits, const std::set<std::string>& relevant, int k);

// ST's compute_dcg_at_k: sum over i < min(relevances.size(), k) of relevances[i] / log2(i + 2),
// summed left to right in double, as the Python loop does.
double dcg_at_k(std::span<const int> relevances, int k);

// numpy.mean of float64 values: numpy's pairwise summation (8-way unrolled blocks of <= 128,
// halves above), then one division. Bit-identical to numpy for the same inputs. Empty -> NaN
// (numpy warns and returns nan).
double numpy_mean(std::span<const double> values);

}  // namespace embedtune::evaluation
