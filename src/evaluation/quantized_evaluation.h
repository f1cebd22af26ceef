// Retrieval quality of quantized embeddings: InformationRetrievalEvaluator's metrics when the
// corpus and queries are stored as int8 or binary vectors (sentence-transformers 6.2's
// quantize_embeddings) and scored with integer kernels, with optional float32 rescoring, at every
// Matryoshka dimension.
//
// Letters: Q queries, C corpus entries, d embedding size (after truncation).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "evaluation/information_retrieval_evaluator.h"

namespace embedtune::evaluation {

// The metrics of `precision` ("int8", "binary", "int8+rescore" or "binary+rescore"; float32 is
// evaluate_retrieval) under keys "{name}_{precision}_{metric}@{k}", as an
// InformationRetrievalEvaluator whose score function, named after the precision, scores:
//   int8    the inner product of the int8 vectors (ranges calibrated on the whole corpus, applied
//           to the queries as well, values outside a range clipped to it);
//   binary  dims - 2 x Hamming distance of the sign bits (the inner product of ±1 vectors).
// Both are exact integers, ranked by (-score, corpus id) with ST's per-chunk tie re-selection,
// so ties break exactly as for float32. "+rescore": the rescore_multiplier x max_k best by that
// score are re-ranked by the float64 dot product of the float32 query with each candidate's
// quantized vector seen in the float query's space, as semantic_search_faiss rescores:
// int8 -> (value + 128) x step + start (dequantized), binary -> its {0, 1} bits; ties in the
// rescored score by corpus id.
// query (Q, d) and corpus (C, d) float32 CPU, rows in query_ids / corpus_ids order; `relevant`
// and the dropped queries as evaluate_retrieval. The primary metric is "{name}_{precision}_ndcg@k".
// Throws Error for an unknown precision, mismatched shapes, non-finite values or no query with a
// relevant document.
IrResults evaluate_quantized(const at::Tensor& query, const at::Tensor& corpus,
                             const std::vector<std::string>& query_ids,
                             const std::vector<std::string>& corpus_ids,
                             const std::map<std::string, std::set<std::string>>& relevant,
                             const IrEvaluatorConfig& config, const std::string& precision,
                             int64_t rescore_multiplier);

// evaluate_matryoshka with every precision of `precisions` at each dimension: per dimension (in
// `dims` order) the float32 evaluator's metrics (config's score functions, ST's keys), then each
// other precision's in the given order. Quantization runs on the truncated vectors (int8 ranges
// calibrated on the truncated corpus). "sequential_score" is the last evaluator's primary score,
// as SequentialEvaluator. Throws as evaluate_matryoshka and PrecisionOptions::validate.
IrResults evaluate_matryoshka(const at::Tensor& query_full, const at::Tensor& corpus_full,
                              const std::vector<std::string>& query_ids,
                              const std::vector<std::string>& corpus_ids,
                              const std::map<std::string, std::set<std::string>>& relevant,
                              const std::vector<int64_t>& dims, const IrEvaluatorConfig& base,
                              const PrecisionOptions& precisions);

}  // namespace embedtune::evaluation
