// IrEvaluatorConfig: validation and names.
#include "evaluation/ir_evaluator_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "io/error.h"
#include "io/settings.h"

namespace embedtune::evaluation {
namespace {

void validate_ks(const std::vector<int>& ks, const std::string& field) {
  if (ks.empty()) fail("{}: expected at least one k, found none; add e.g. 10", field);
  std::set<int> seen;
  for (int k : ks) {
    if (k < 1) fail("{}: expected every k >= 1, found {}; remove it", field, k);
    if (!seen.insert(k).second) {
      fail("{}: k = {} appears twice in [{}]; list each k once", field, k, fmt::join(ks, ", "));
    }
  }
}

}  // namespace

int IrEvaluatorConfig::max_k() const {
  int k = 0;
  for (const auto* ks :
       {&mrr_at_k, &ndcg_at_k, &accuracy_at_k, &precision_recall_at_k, &map_at_k}) {
    for (int v : *ks) k = std::max(k, v);
  }
  return k;
}

void IrEvaluatorConfig::validate(std::string_view key_prefix) const {
  const auto name = [&](std::string_view key) { return io::setting_display_name(key_prefix, key); };
  validate_ks(mrr_at_k, name("mrr_at_k"));
  validate_ks(ndcg_at_k, name("ndcg_at_k"));
  validate_ks(accuracy_at_k, name("accuracy_at_k"));
  validate_ks(precision_recall_at_k, name("precision_recall_at_k"));
  validate_ks(map_at_k, name("map_at_k"));
  if (score_functions.empty()) {
    fail("{}: expected at least one of \"cosine\", \"dot\", found none", name("score_functions"));
  }
  std::set<std::string> seen;
  for (const auto& s : score_functions) {
    if (s != "cosine" && s != "dot") {
      fail("{}: unknown score function \"{}\"; use \"cosine\" or \"dot\"", name("score_functions"),
           s);
    }
    if (!seen.insert(s).second)
      fail("{}: \"{}\" appears twice; list it once", name("score_functions"), s);
  }
  if (!main_score_function.empty() && seen.count(main_score_function) == 0) {
    fail("{}: \"{}\" is not one of score_functions [{}]; add it there or leave it empty",
         name("main_score_function"), main_score_function, fmt::join(score_functions, ", "));
  }
  if (corpus_chunk_size < 1) {
    fail("{}: expected >= 1, found {}; the default is 50000", name("corpus_chunk_size"),
         corpus_chunk_size);
  }
  if (query_chunk_size < 0) {
    fail("{}: expected >= 0 (0 = automatic), found {}", name("query_chunk_size"), query_chunk_size);
  }
}

const std::vector<std::string>& known_precisions() {
  static const std::vector<std::string> names{"float32", "int8", "binary", "int8+rescore",
                                              "binary+rescore"};
  return names;
}

void PrecisionOptions::validate(std::string_view key_prefix) const {
  const auto name = [&](std::string_view key) { return io::setting_display_name(key_prefix, key); };
  const std::vector<std::string>& known = known_precisions();
  std::set<std::string> seen;
  for (const auto& p : precisions) {
    if (std::find(known.begin(), known.end(), p) == known.end()) {
      fail("{}: unknown precision \"{}\"; use any of {} (ubinary scores as binary does)",
           name("precisions"), p, fmt::join(known, ", "));
    }
    if (!seen.insert(p).second)
      fail("{}: \"{}\" appears twice; list it once", name("precisions"), p);
  }
  if (seen.count("float32") == 0) {
    fail(
        "{}: expected float32 among [{}]; the full-size float32 score is what the other "
        "precisions are compared with, so add float32",
        name("precisions"), fmt::join(precisions, ", "));
  }
  if (rescore_multiplier < 1 || rescore_multiplier > 1000) {
    fail(
        "{}: expected an integer in 1..1000, found {}; rescoring retrieves multiplier x k "
        "candidates with the quantized vectors (e.g. 4)",
        name("rescore_multiplier"), rescore_multiplier);
  }
}

std::string matryoshka_name(const IrEvaluatorConfig& base, int64_t dim) {
  return base.name.empty() ? fmt::format("dim_{}", dim) : fmt::format("{}_dim_{}", base.name, dim);
}

}  // namespace embedtune::evaluation
