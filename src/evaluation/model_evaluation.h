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
#include "evaluation/information_retrieval_evaluator.h"
#include "model/sentence_transformer.h"

namespace embedtune::evaluation {

// An evaluation's settings as a user writes them: `embedtune evaluate`'s flags and a run
// recipe's `evaluation:` section are both this one list, so they are spelled, defaulted and
// checked the same way (names as InformationRetrievalEvaluator's arguments).
struct EvaluationSettings {
  int64_t batch_size;
  std::string query_prompt, corpus_prompt;
  std::vector<std::string> score_functions;
  std::vector<int64_t> mrr_at_k, ndcg_at_k, accuracy_at_k, precision_recall_at_k, map_at_k;
  int64_t corpus_chunk_size;
  bool bf16;

  EvaluationSettings();  // every field at its default

  template <class Self, class Visitor>
  static void for_each(Self& self, Visitor&& visit) {
    visit(self.batch_size, "batch_size", int64_t{32},
          "Texts per encoding batch (per_device_eval_batch_size)");
    visit(self.query_prompt, "query_prompt", std::string(), "Text prepended to every query");
    visit(self.corpus_prompt, "corpus_prompt", std::string(), "Text prepended to every document");
    visit(self.score_functions, "score_functions", std::vector<std::string>{"cosine"},
          "cosine and/or dot");
    visit(self.mrr_at_k, "mrr_at_k", std::vector<int64_t>{10}, "k values for MRR@k");
    visit(self.ndcg_at_k, "ndcg_at_k", std::vector<int64_t>{10}, "k values for NDCG@k");
    visit(self.accuracy_at_k, "accuracy_at_k", std::vector<int64_t>{1, 3, 5, 10},
          "k values for accuracy@k");
    visit(self.precision_recall_at_k, "precision_recall_at_k", std::vector<int64_t>{1, 3, 5, 10},
          "k values for precision@k and recall@k");
    visit(self.map_at_k, "map_at_k", std::vector<int64_t>{100}, "k values for MAP@k");
    visit(self.corpus_chunk_size, "corpus_chunk_size", int64_t{50000},
          "Corpus rows scored at a time");
    visit(self.bf16, "bf16", false,
          "Encode in bf16 autocast (CUDA only; otherwise fp32, as the reference evaluates)");
  }

  // The evaluator's configuration (k lists, score functions, chunk size). Throws Error
  // "ORIGIN: KEY: ..." for an invalid value, keys named with `key_prefix` ("--" for flags,
  // "evaluation." in a recipe; see io::setting_display_name).
  IrEvaluatorConfig config(std::string_view origin, std::string_view key_prefix) const;
};

struct ModelEvaluationOptions {
  // Built from EvaluationSettings (config, prompts, batch size) and the dims, in one place.
  static ModelEvaluationOptions from_settings(const EvaluationSettings& settings,
                                              std::vector<int64_t> dims, std::string_view origin,
                                              std::string_view key_prefix);

  std::vector<int64_t> dims;  // empty: default_dims(model dimension)
  IrEvaluatorConfig config;   // k lists, score functions, chunk sizes
  std::string query_prompt, corpus_prompt;
  int64_t batch_size = 32;                // per_device_eval_batch_size
  bool bf16 = false;                      // bf16 autocast on CUDA (fp32 otherwise)
  std::filesystem::path save_embeddings;  // when set: write queries.npy, corpus.npy, ids.json here
  std::filesystem::path load_embeddings;  // when set: read them from here instead of encoding
  // Called with ("queries"|"corpus", done, total) while encoding; may be empty.
  std::function<void(const std::string&, int64_t, int64_t)> progress;
};

// The evaluation dims when none are given: the reference's [768, 512, 256, 128, 64] for a 768-d
// model, else the model's dimension and its halvings while they stay >= 64 (at least one dim).
std::vector<int64_t> default_dims(int64_t model_dimension);

struct EncodedRetrieval {
  at::Tensor queries;  // (Q, D) float32, rows in data.query_ids order
  at::Tensor corpus;   // (C, D) float32, rows in data.corpus_ids order
};

// Encodes (or loads, per options) the queries and corpus of `data` at full size. Loaded
// embeddings must have been saved for the same ids; a mismatch is an Error naming the file.
EncodedRetrieval encode_retrieval(SentenceTransformer& model, const data::RetrievalData& data,
                                  const ModelEvaluationOptions& options);

// Throws Error unless `data` has documents and at least one query with a relevant document
// (the evaluator drops the others): checked before any encoding.
void check_evaluable(const data::RetrievalData& data);

// encode_retrieval, then evaluate_matryoshka over options.dims. Dims (in 1..D, no repeats), the
// evaluator's settings and the data are checked before anything is encoded.
IrResults evaluate_model(SentenceTransformer& model, const data::RetrievalData& data,
                         const ModelEvaluationOptions& options);

}  // namespace embedtune::evaluation
