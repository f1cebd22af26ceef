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

// The name evaluate_matryoshka gives dimension `dim`'s evaluator.
std::string matryoshka_name(const IrEvaluatorConfig& base, int64_t dim);

}  // namespace embedtune::evaluation
