// EvaluationSettings: an evaluation's settings as a user writes them. Plain C++, so recipes are
// read without LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "evaluation/ir_evaluator_config.h"

namespace embedtune::evaluation {

// An evaluation's settings as a user writes them: `embedtune evaluate`'s flags and a run
// recipe's `evaluation:` section are both this one list, so they are spelled, defaulted and
// checked the same way (names as InformationRetrievalEvaluator's arguments).
struct EvaluationSettings {
  int64_t batch_size;
  std::string query_prompt, query_prompt_name, corpus_prompt, corpus_prompt_name;
  std::vector<std::string> score_functions;
  std::vector<int64_t> mrr_at_k, ndcg_at_k, accuracy_at_k, precision_recall_at_k, map_at_k;
  int64_t corpus_chunk_size;
  std::vector<std::string> precisions;
  int64_t rescore_multiplier;
  bool bf16;

  EvaluationSettings();  // every field at its default

  template <class Self, class Visitor>
  static void for_each(Self& self, Visitor&& visit) {
    visit(self.batch_size, "batch_size", int64_t{32},
          "Texts per encoding batch (per_device_eval_batch_size)");
    // Empty prompts and names are "not given": queries then get the model's "query" prompt and
    // documents its "document" prompt (config_sentence_transformers.json), as ST's evaluator
    // encodes them with encode_query and encode_document.
    visit(self.query_prompt, "query_prompt", std::string(),
          "Text prepended to every query (default: the model's \"query\" prompt)");
    visit(self.query_prompt_name, "query_prompt_name", std::string(),
          "Name of the model's prompt to prepend to every query, instead of query_prompt");
    visit(self.corpus_prompt, "corpus_prompt", std::string(),
          "Text prepended to every document (default: the model's \"document\" prompt)");
    visit(self.corpus_prompt_name, "corpus_prompt_name", std::string(),
          "Name of the model's prompt to prepend to every document, instead of corpus_prompt");
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
    visit(self.precisions, "precisions", std::vector<std::string>{"float32"},
          "Storage precisions to evaluate at every dim: float32 (required), int8, binary, "
          "int8+rescore, binary+rescore");
    visit(self.rescore_multiplier, "rescore_multiplier", int64_t{4},
          "For the +rescore precisions: candidates retrieved per query = this x the largest k");
    visit(self.bf16, "bf16", false,
          "Encode in bf16 autocast (CUDA only; otherwise fp32, as the reference evaluates)");
  }

  // The evaluator's configuration (k lists, score functions, chunk size). Throws Error
  // "ORIGIN: KEY: ..." for an invalid value, keys named with `key_prefix` ("--" for flags,
  // "evaluation." in a recipe; see io::setting_display_name).
  IrEvaluatorConfig config(std::string_view origin, std::string_view key_prefix) const;

  // The precisions and rescore multiplier, checked the same way ("ORIGIN: KEY: ...").
  PrecisionOptions precision_options(std::string_view origin, std::string_view key_prefix) const;
};

}  // namespace embedtune::evaluation
