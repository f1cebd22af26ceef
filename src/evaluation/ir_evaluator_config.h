// IrEvaluatorConfig: the arguments of sentence-transformers' InformationRetrievalEvaluator (k
// lists, score functions, chunk sizes, name). Plain C++: settings and recipes use it without
// LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune::evaluation {

struct IrEvaluatorConfig {
  // Cut-offs, as InformationRetrievalEvaluator's arguments (each list non-empty, k >= 1, no
  // repeats).
  std::vector<int> mrr_at_k{10};
  std::vector<int> ndcg_at_k{10};
  std::vector<int> accuracy_at_k{1, 3, 5, 10};
  std::vector<int> precision_recall_at_k{1, 3, 5, 10};
  std::vector<int> map_at_k{100};
  // "cosine" (rows L2-normalised, then dot) and/or "dot"; results follow this order, the CSV
  // columns the sorted order, as in ST.
  std::vector<std::string> score_functions{"cosine"};
  // The score function of the primary metric; empty: the one with the best ndcg@max(ndcg_at_k)
  // (first in sorted order on a tie), as ST picks it on its first call. A trainer that calls the
  // evaluator repeatedly should pin the first call's choice here, as ST keeps it.
  std::string main_score_function;
  // Corpus entries scored at once (ST's corpus_chunk_size).
  int64_t corpus_chunk_size = 50000;
  // Queries scored at once; 0: as many as keep one score block under kMaxScoreBlock values
  // (all of them for up to 1342 queries at the default chunk, which is the shape ST multiplies).
  int64_t query_chunk_size = 0;
  // Prefix of every key: "{name}_{score}_{metric}@{k}", or "{score}_{metric}@{k}" when empty.
  std::string name;

  static constexpr int64_t kMaxScoreBlock = int64_t{1} << 26;  // 256 MiB of float32 scores

  // The largest k of all lists: how many hits are kept per query.
  int max_k() const;
  // Throws Error naming the field when a list is empty, holds k < 1 or a repeat, a score
  // function is unknown or repeated, or a chunk size is not positive (query 0 = automatic).
  // Fields are named with `key_prefix` as io::setting_display_name does ("--" for flags).
  void validate(std::string_view key_prefix = "") const;
};

// How the embeddings are stored and scored, besides float32 (see evaluation/quantization.h):
// "int8" (ST's int8 quantize_embeddings, ranges calibrated on the corpus, scored by the int8 inner
// product), "binary" (sign bits, scored by Hamming similarity), and "int8+rescore" /
// "binary+rescore" (rescore_multiplier x max_k candidates retrieved with the quantized vectors,
// re-ranked by the float32 query against the quantized documents, as semantic_search_faiss).
// Result keys put the precision where the score function goes: "dim_128_int8_ndcg@10";
// float32 keeps its score-function keys ("dim_128_cosine_ndcg@10").
struct PrecisionOptions {
  std::vector<std::string> precisions{"float32"};
  int64_t rescore_multiplier = 4;

  // Throws Error naming the key (with `key_prefix`, as IrEvaluatorConfig::validate) when a
  // precision is unknown or repeated, float32 is missing, or the multiplier is outside 1..1000.
  void validate(std::string_view key_prefix = "") const;
};

// "float32", "int8", "binary", "int8+rescore", "binary+rescore".
const std::vector<std::string>& known_precisions();

// The name evaluate_matryoshka gives dimension `dim`'s evaluator.
std::string matryoshka_name(const IrEvaluatorConfig& base, int64_t dim);

}  // namespace embedtune::evaluation
