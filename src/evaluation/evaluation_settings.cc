// EvaluationSettings: defaults and the evaluator configuration they give.
#include "evaluation/evaluation_settings.h"

#include <string>
#include <tuple>

#include "io/error.h"
#include "io/settings.h"

namespace embedtune::evaluation {

EvaluationSettings::EvaluationSettings() { io::reset_settings(*this); }

IrEvaluatorConfig EvaluationSettings::config(std::string_view origin,
                                             std::string_view key_prefix) const {
  const auto name = [&](std::string_view key) { return io::setting_display_name(key_prefix, key); };
  IrEvaluatorConfig config;
  auto ks = [&](const std::vector<int64_t>& values, std::string_view key) {
    std::vector<int> out;
    for (int64_t k : values) {
      if (k < 1 || k > 1'000'000) {
        fail("{}: {}: expected k values in 1..1000000, found {}; fix the value", origin, name(key),
             k);
      }
      out.push_back(static_cast<int>(k));
    }
    return out;
  };
  for (const auto& [prompt, prompt_name, key] :
       {std::tuple(&query_prompt, &query_prompt_name, "query_prompt"),
        std::tuple(&corpus_prompt, &corpus_prompt_name, "corpus_prompt")}) {
    if (!prompt->empty() && !prompt_name->empty()) {
      fail("{}: {} and {} both given; give the prompt text or its name, not both", origin,
           name(key), name(std::string(key) + "_name"));
    }
  }
  config.mrr_at_k = ks(mrr_at_k, "mrr_at_k");
  config.ndcg_at_k = ks(ndcg_at_k, "ndcg_at_k");
  config.accuracy_at_k = ks(accuracy_at_k, "accuracy_at_k");
  config.precision_recall_at_k = ks(precision_recall_at_k, "precision_recall_at_k");
  config.map_at_k = ks(map_at_k, "map_at_k");
  config.score_functions = score_functions;
  config.corpus_chunk_size = corpus_chunk_size;
  try {
    config.validate(key_prefix);
  } catch (const Error& e) {
    fail("{}: {}", origin, e.what());
  }
  if (batch_size < 1) {
    fail("{}: {}: expected an integer >= 1, found {}; fix the value", origin, name("batch_size"),
         batch_size);
  }
  return config;
}

PrecisionOptions EvaluationSettings::precision_options(std::string_view origin,
                                                       std::string_view key_prefix) const {
  PrecisionOptions options;
  options.precisions = precisions;
  options.rescore_multiplier = rescore_multiplier;
  try {
    options.validate(key_prefix);
  } catch (const Error& e) {
    fail("{}: {}", origin, e.what());
  }
  return options;
}

}  // namespace embedtune::evaluation
