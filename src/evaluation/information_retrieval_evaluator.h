// InformationRetrievalEvaluator on precomputed embeddings: exact top-k retrieval in corpus
// chunks and the accuracy/precision/recall/NDCG/MRR/MAP metrics of sentence-transformers 6.2,
// for one embedding size or for every Matryoshka dimension (as a SequentialEvaluator would).
//
// Letters: Q queries, C corpus entries, D embedding size.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "evaluation/ir_evaluator_config.h"

namespace embedtune::evaluation {

struct IrResults {
  // (key, value) in ST's order: per score function accuracy@k, precision@k, recall@k, ndcg@k,
  // mrr@k, map@k, each over its k list.
  std::vector<std::pair<std::string, double>> metrics;
  // The key of the primary metric (in `metrics`), e.g. "dim_128_cosine_ndcg@10".
  std::string primary_metric;

  // The value under `key`; throws Error listing a few keys when it is absent.
  double at(const std::string& key) const;
  double primary_score() const { return at(primary_metric); }
};

// The top `max_k` hits per query: corpus indices ordered by (-score, ascending corpus id), the
// order ST 6.2 ranks by (it sorts (score, corpus_id) tuples, so ties go to the smaller id string,
// not the earlier corpus position), with ST's per-chunk tie re-selection, so the selection does
// not depend on chunking. Scores are float32 and computed as ST computes them (F.normalize, then
// torch.mm per block), bit for bit when the block shapes are ST's (all queries x corpus chunk,
// the default here for up to kMaxScoreBlock / corpus_chunk_size queries). As in ST, a "tie" is
// exact float equality, and GEMM rounding may depend on the block shape and a column's position
// in it (PyTorch rounds identical columns of a (1, 8) x (8, 7) product differently), so scores
// equal in exact arithmetic can differ in the last bit across chunkings; exactly representable
// scores never do.
// query (Q, D) and corpus (C, D) float32 CPU; returns Q lists of at most min(max_k, C) indices.
// `score_function` is "cosine" or "dot". Memory: O(Q * max_k + query_chunk * corpus_chunk +
// corpus_chunk * D): one score block and one normalised chunk, reused. With `check_corpus`, a
// corpus row holding NaN or infinity is an Error naming the row.
std::vector<std::vector<int64_t>> top_k_hits(const at::Tensor& query, const at::Tensor& corpus,
                                             const std::vector<std::string>& corpus_ids,
                                             const std::string& score_function, int max_k,
                                             int64_t corpus_chunk_size, int64_t query_chunk_size,
                                             bool check_corpus = true);

// One block of scores for top_k_hits_scored: queries [q_start, q_start + q_len) against corpus
// rows [c_start, c_start + c_len), returned as a (q_len, c_len) float32 or int32 tensor (it may
// be a reused buffer: it is read before the next call).
using ScoreBlockFn =
    std::function<at::Tensor(int64_t q_start, int64_t q_len, int64_t c_start, int64_t c_len)>;

// top_k_hits' chunked selection (per-chunk top-k with ST's tie re-selection, then the merge in
// (-score, id) order) over scores from `score_block`, called once per (query chunk, corpus
// chunk) in order. int32 scores (quantized vectors) are selected with one (score, id rank) key
// per entry, which picks the same entries in the same (-score, id) order as the float path's tie
// re-selection (and as ST's evaluator on the same integers), only faster; merged scores must
// stay exact in float32 (|s| < 2^24). Returns n_query lists of at most
// min(max_k, C) corpus rows, C = corpus_ids.size().
std::vector<std::vector<int64_t>> top_k_hits_scored(int64_t n_query,
                                                    const std::vector<std::string>& corpus_ids,
                                                    int max_k, int64_t corpus_chunk_size,
                                                    int64_t query_chunk_size,
                                                    const ScoreBlockFn& score_block);

// The queries ST keeps (those with at least one relevant document), as row indices in
// query_ids order; with `kept_relevant`, their relevant sets are appended to it in that order.
std::vector<int64_t> kept_queries(const std::vector<std::string>& query_ids,
                                  const std::map<std::string, std::set<std::string>>& relevant,
                                  std::vector<const std::set<std::string>*>* kept_relevant);

// ST's compute_metrics for one score function over ranked hits (corpus ids per kept query, best
// first, at least max_k of them where the corpus has them): appends
// "{prefix}{metric}@{k}" in ST's order (accuracy, precision, recall, ndcg, mrr, map).
void append_ir_metrics(const std::vector<std::vector<std::string>>& hits,
                       const std::vector<const std::set<std::string>*>& relevant,
                       const IrEvaluatorConfig& config, const std::string& prefix,
                       std::vector<std::pair<std::string, double>>& out);

// Evaluates retrieval of `corpus_ids` for `query_ids`, as InformationRetrievalEvaluator called on
// a model whose encode returns these embeddings.
//   query_embeddings  (Q, D) float32, row i for query_ids[i];
//   corpus_embeddings (C, D) float32, row j for corpus_ids[j]; neither needs to be normalised
//                     ("cosine" normalises, "dot" does not).
//   relevant: query id -> relevant corpus ids. Queries absent from it or with an empty set are
//             dropped, as ST does; ids of queries not in query_ids are ignored.
// Throws Error when shapes disagree with the id lists, an id repeats, a value is not finite,
// no query has a relevant document, or the config is invalid. Thread-safe (no shared state).
IrResults evaluate_retrieval(const at::Tensor& query_embeddings,
                             const at::Tensor& corpus_embeddings,
                             const std::vector<std::string>& query_ids,
                             const std::vector<std::string>& corpus_ids,
                             const std::map<std::string, std::set<std::string>>& relevant,
                             const IrEvaluatorConfig& config);

// One evaluator per Matryoshka dimension d, as a SequentialEvaluator of
// InformationRetrievalEvaluator(truncate_dim=d, name="dim_{d}") over full-size embeddings:
// each evaluation sees query_full[:, :d] and corpus_full[:, :d] (not re-normalised: ST's
// truncation runs after the model's Normalize, and "cosine" normalises the slice itself).
// The name is "dim_{d}", or "{base.name}_dim_{d}" when base.name is set.
// Returns every evaluator's metrics in `dims` order followed by "sequential_score" (the last
// evaluator's primary score), with primary_metric "sequential_score", as SequentialEvaluator.
// Throws Error when dims is empty, repeats a value, or holds d < 1 or d > D.
IrResults evaluate_matryoshka(const at::Tensor& query_full, const at::Tensor& corpus_full,
                              const std::vector<std::string>& query_ids,
                              const std::vector<std::string>& corpus_ids,
                              const std::map<std::string, std::set<std::string>>& relevant,
                              const std::vector<int64_t>& dims, const IrEvaluatorConfig& base);

}  // namespace embedtune::evaluation
