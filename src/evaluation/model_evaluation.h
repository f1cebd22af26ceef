// Evaluating a model on retrieval data: encode the corpus and the queries ONCE at full size,
// then evaluate every Matryoshka dimension by slicing (sentence-transformers' evaluator encodes
// everything again for each dimension; slicing the same vectors gives the same scores).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "data/retrieval_data.h"
#include "evaluation/evaluation_settings.h"
#include "evaluation/information_retrieval_evaluator.h"
#include "model/sentence_transformer.h"

namespace embedtune::evaluation {

struct ModelEvaluationOptions {
  // Built from EvaluationSettings (config, prompts, batch size) and the dims, in one place.
  static ModelEvaluationOptions from_settings(const EvaluationSettings& settings,
                                              std::vector<int64_t> dims, std::string_view origin,
                                              std::string_view key_prefix);

  std::vector<int64_t> dims;    // empty: default_dims(model dimension)
  IrEvaluatorConfig config;     // k lists, score functions, chunk sizes
  PrecisionOptions precisions;  // float32 and any quantized precisions, at every dim
  // Empty means not given: see EvaluationSettings and encode_retrieval.
  std::string query_prompt, query_prompt_name, corpus_prompt, corpus_prompt_name;
  int64_t batch_size = 32;                // per_device_eval_batch_size
  bool bf16 = false;                      // bf16 autocast on CUDA (fp32 otherwise)
  std::filesystem::path save_embeddings;  // when set: write queries.npy, corpus.npy, ids.json here
  std::filesystem::path load_embeddings;  // when set: read them from here instead of encoding
  // Called with ("queries"|"corpus", done, total) while encoding; may be empty.
  std::function<void(const std::string&, int64_t, int64_t)> progress;
  // Several processes: this one encodes every shard_count-th batch (EncodeOptions), and
  // `combine_shards` sums the partial (N, D) results of all of them in place (an all-reduce), so
  // every process gets the embeddings one process computes, bit for bit.
  int64_t shard_index = 0, shard_count = 1;
  std::function<void(at::Tensor&)> combine_shards;

  // `config` for the CSV files: its score functions followed by the quantized precisions, whose
  // metrics sit beside them as an extra score function's would in ST's CSV.
  IrEvaluatorConfig csv_config() const;
};

// The evaluation dims when none are given: the reference's [768, 512, 256, 128, 64] for a 768-d
// model, else the model's dimension and its halvings while they stay >= 64 (at least one dim).
std::vector<int64_t> default_dims(int64_t model_dimension);

struct EncodedRetrieval {
  at::Tensor queries;  // (Q, D) float32, rows in data.query_ids order
  at::Tensor corpus;   // (C, D) float32, rows in data.corpus_ids order
};

// Encodes (or loads, per options) the queries and corpus of `data` at full size: the queries as
// ST's encode_query and the corpus as encode_document, with the options' prompt or prompt name
// when given (SentenceTransformer::resolve_prompt; an unknown name is an Error before anything
// is encoded). Loaded embeddings must have been saved for the same ids; a mismatch is an Error
// naming the file.
EncodedRetrieval encode_retrieval(SentenceTransformer& model, const data::RetrievalData& data,
                                  const ModelEvaluationOptions& options);

// Throws Error unless `data` has documents and at least one query with a relevant document
// (the evaluator drops the others): checked before any encoding.
void check_evaluable(const data::RetrievalData& data);

// encode_retrieval, then evaluate_matryoshka over options.dims and options.precisions. Dims
// (in 1..D, no repeats), the evaluator's settings and the data are checked before anything is
// encoded.
IrResults evaluate_model(SentenceTransformer& model, const data::RetrievalData& data,
                         const ModelEvaluationOptions& options);

}  // namespace embedtune::evaluation
