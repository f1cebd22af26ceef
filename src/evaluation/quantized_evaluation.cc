// InformationRetrievalEvaluator metrics on int8 and binary embeddings, with optional rescoring.
#include "evaluation/quantized_evaluation.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>

#include "evaluation/quantization.h"
#include "io/error.h"
#include "io/plural.h"

namespace embedtune::evaluation {
namespace {

// Candidates re-ranked by their float64 rescored value, ties by corpus id (the order ST's
// evaluator ranks by; semantic_search_faiss's argsort leaves ties unordered).
void rescore(std::vector<int64_t>& candidates, const float* query,
             const std::function<double(const float*, int64_t)>& score,
             const std::vector<std::string>& corpus_ids) {
  std::vector<std::pair<double, int64_t>> scored;
  scored.reserve(candidates.size());
  for (int64_t row : candidates) scored.emplace_back(score(query, row), row);
  std::sort(scored.begin(), scored.end(), [&](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && corpus_ids[a.second] < corpus_ids[b.second]);
  });
  for (size_t i = 0; i < scored.size(); ++i) candidates[i] = scored[i].second;
}

}  // namespace

IrResults evaluate_quantized(const at::Tensor& query, const at::Tensor& corpus,
                             const std::vector<std::string>& query_ids,
                             const std::vector<std::string>& corpus_ids,
                             const std::map<std::string, std::set<std::string>>& relevant,
                             const IrEvaluatorConfig& config, const std::string& precision,
                             int64_t rescore_multiplier) {
  config.validate();
  const bool rescoring = precision.ends_with("+rescore");
  const std::string base = rescoring ? precision.substr(0, precision.size() - 8) : precision;
  if (base != "int8" && base != "binary") {
    fail(
        "evaluate_quantized: unknown precision \"{}\"; use int8, binary, int8+rescore or "
        "binary+rescore (float32 is evaluate_retrieval)",
        precision);
  }
  if (rescoring && (rescore_multiplier < 1 || rescore_multiplier > 1000)) {
    fail("evaluate_quantized: rescore_multiplier must be in 1..1000, found {}", rescore_multiplier);
  }
  for (const auto* t : {&query, &corpus}) {
    if (!t->defined() || t->dim() != 2 || t->scalar_type() != at::kFloat) {
      fail("evaluate_quantized: expected 2-D float32 query and corpus embeddings");
    }
  }
  if (query.size(0) != static_cast<int64_t>(query_ids.size()) ||
      corpus.size(0) != static_cast<int64_t>(corpus_ids.size()) ||
      query.size(1) != corpus.size(1)) {
    fail(
        "evaluate_quantized: embeddings of shape ({}, {}) and ({}, {}) do not match {} query and "
        "{} corpus ids of one size; pass one row per id",
        query.size(0), query.size(1), corpus.size(0), corpus.size(1), query_ids.size(),
        corpus_ids.size());
  }
  std::vector<const std::set<std::string>*> kept_relevant;
  const std::vector<int64_t> kept = kept_queries(query_ids, relevant, &kept_relevant);
  if (kept.empty()) {
    fail(
        "evaluate_quantized: expected a query with a relevant document in the qrels, found none "
        "({} read)",
        io::counted(query_ids.size(), "query", "queries"));
  }
  c10::InferenceMode guard;
  const at::Tensor queries =
      query.index_select(0, at::tensor(at::ArrayRef<int64_t>(kept), at::kLong)).contiguous();
  const at::Tensor docs = corpus.contiguous();
  if (!at::isfinite(queries).all().item<bool>() || !at::isfinite(docs).all().item<bool>()) {
    fail("evaluate_quantized: the embeddings hold NaN or infinity; fix the model or the input");
  }
  const int64_t dims = docs.size(1);
  const int64_t n_query = queries.size(0);

  // The quantized vectors, and the integer score block they fill.
  Int8Ranges ranges;
  at::Tensor q_codes, c_codes;
  if (base == "int8") {
    ranges = int8_ranges(docs);
    q_codes = quantize_int8(queries, ranges);
    c_codes = quantize_int8(docs, ranges);
  } else {
    q_codes = pack_words(quantize_ubinary(queries));
    c_codes = pack_words(quantize_ubinary(docs));
  }
  const int64_t max_c = std::min<int64_t>(config.corpus_chunk_size, docs.size(0));
  int64_t query_chunk = config.query_chunk_size;
  if (query_chunk == 0) {
    query_chunk =
        std::max<int64_t>(1, IrEvaluatorConfig::kMaxScoreBlock / std::max<int64_t>(1, max_c));
  }
  const int64_t max_q = std::min(query_chunk, n_query);
  at::Tensor int_buffer = at::empty({max_q * max_c}, at::kInt);
  auto score_block = [&](int64_t q_start, int64_t q_len, int64_t c_start, int64_t c_len) {
    at::Tensor scores = int_buffer.narrow(0, 0, q_len * c_len).view({q_len, c_len});
    const at::Tensor q = q_codes.narrow(0, q_start, q_len);
    const at::Tensor c = c_codes.narrow(0, c_start, c_len);
    if (base == "int8") {
      int8_dot(q, c, scores);
    } else {
      hamming_similarity(q, c, dims, scores);
    }
    return scores;  // exact integers, selected by top_k_hits_scored's integer path
  };
  const int max_k = config.max_k();
  const int64_t candidates =
      rescoring ? std::min<int64_t>(int64_t{max_k} * rescore_multiplier, docs.size(0)) : max_k;
  std::vector<std::vector<int64_t>> rows =
      top_k_hits_scored(n_query, corpus_ids, static_cast<int>(candidates), config.corpus_chunk_size,
                        query_chunk, score_block);

  if (rescoring) {
    std::function<double(const float*, int64_t)> score;
    if (base == "int8") {
      // semantic_search_faiss: _dequantize_embeddings in float64, then the float query's dot.
      const int8_t* codes = c_codes.data_ptr<int8_t>();
      const float* starts = ranges.starts.data_ptr<float>();
      const float* steps = ranges.steps.data_ptr<float>();
      score = [=](const float* q, int64_t row) {
        double sum = 0.0;
        for (int64_t k = 0; k < dims; ++k) {
          const double value =
              (static_cast<double>(codes[row * dims + k]) + 128.0) * static_cast<double>(steps[k]) +
              static_cast<double>(starts[k]);
          sum += static_cast<double>(q[k]) * value;
        }
        return sum;
      };
    } else {
      // np.unpackbits of the stored candidate: the float query summed over its set bits.
      const auto* bytes = reinterpret_cast<const uint8_t*>(c_codes.data_ptr<int64_t>());
      const int64_t row_bytes = c_codes.size(1) * 8;
      score = [=](const float* q, int64_t row) {
        double sum = 0.0;
        for (int64_t k = 0; k < dims; ++k) {
          if (bytes[row * row_bytes + k / 8] & (0x80u >> (k % 8))) sum += static_cast<double>(q[k]);
        }
        return sum;
      };
    }
    const float* q_values = queries.data_ptr<float>();
    for (int64_t q = 0; q < n_query; ++q) {
      rescore(rows[q], q_values + q * dims, score, corpus_ids);
      if (rows[q].size() > static_cast<size_t>(max_k)) rows[q].resize(max_k);
    }
  }

  std::vector<std::vector<std::string>> hits(rows.size());
  for (size_t q = 0; q < rows.size(); ++q) {
    for (int64_t row : rows[q]) hits[q].push_back(corpus_ids[row]);
  }
  const std::string prefix = config.name.empty() ? "" : config.name + "_";
  IrResults results;
  append_ir_metrics(hits, kept_relevant, config, prefix + precision + "_", results.metrics);
  const int ndcg_k = *std::max_element(config.ndcg_at_k.begin(), config.ndcg_at_k.end());
  results.primary_metric = fmt::format("{}{}_ndcg@{}", prefix, precision, ndcg_k);
  return results;
}

IrResults evaluate_matryoshka(const at::Tensor& query_full, const at::Tensor& corpus_full,
                              const std::vector<std::string>& query_ids,
                              const std::vector<std::string>& corpus_ids,
                              const std::map<std::string, std::set<std::string>>& relevant,
                              const std::vector<int64_t>& dims, const IrEvaluatorConfig& base,
                              const PrecisionOptions& precisions) {
  precisions.validate();
  if (precisions.precisions == std::vector<std::string>{"float32"}) {
    return evaluate_matryoshka(query_full, corpus_full, query_ids, corpus_ids, relevant, dims,
                               base);
  }
  if (dims.empty() || std::set<int64_t>(dims.begin(), dims.end()).size() != dims.size()) {
    fail("evaluate_matryoshka: expected distinct dimensions, found [{}]; list each one once",
         fmt::join(dims, ", "));
  }
  IrResults all;
  double last_primary = 0.0;
  for (int64_t d : dims) {
    // The float32 evaluator first: it checks the dims, ids and values for all of them.
    IrResults float32 =
        evaluate_matryoshka(query_full, corpus_full, query_ids, corpus_ids, relevant, {d}, base);
    const double float32_primary = float32.metrics.back().second;  // its sequential_score
    float32.metrics.pop_back();
    IrEvaluatorConfig config = base;
    config.name = matryoshka_name(base, d);
    const at::Tensor q = query_full.narrow(1, 0, d), c = corpus_full.narrow(1, 0, d);
    for (const auto& precision : precisions.precisions) {
      if (precision == "float32") {
        last_primary = float32_primary;
        all.metrics.insert(all.metrics.end(), float32.metrics.begin(), float32.metrics.end());
        continue;
      }
      const IrResults one = evaluate_quantized(q, c, query_ids, corpus_ids, relevant, config,
                                               precision, precisions.rescore_multiplier);
      last_primary = one.primary_score();
      all.metrics.insert(all.metrics.end(), one.metrics.begin(), one.metrics.end());
    }
  }
  all.metrics.emplace_back("sequential_score", last_primary);
  all.primary_metric = "sequential_score";
  return all;
}

}  // namespace embedtune::evaluation
