// The README.md model card of a fine-tuned model, in the spirit of sentence-transformers 6.2's
// generated card: front matter, architecture, usage, evaluation per Matryoshka dimension, training
// data, loss, hyperparameters, the training log (saved checkpoint's row in bold), versions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace embedtune::training {

struct ModelCardData {
  std::string model_name;  // e.g. the output folder's name
  std::string base_model;  // what was fine-tuned (folder or id)
  int64_t embedding_dimension = 0;
  int64_t max_seq_length = 0;
  std::string architecture = "BertModel";  // the transformers class, as ST prints it
  std::string pooling;                     // "mean", "cls", ...
  bool normalize = false;
  int64_t parameter_count = 0;

  std::string train_file;
  int64_t train_rows = 0;
  std::vector<std::string> train_columns;
  std::vector<std::pair<std::string, double>> column_mean_tokens;  // (column, mean token count)

  std::string loss;  // "MatryoshkaLoss", "MultipleNegativesRankingLoss" or its Cached form
  std::string inner_loss = "MultipleNegativesRankingLoss";  // the loss inside MatryoshkaLoss
  nlohmann::ordered_json loss_settings;  // shown as JSON, as ST shows the loss's config
  std::vector<int64_t> dims;             // evaluated dimensions

  std::vector<std::pair<std::string, std::string>> non_default_hyperparameters;
  std::vector<std::pair<std::string, std::string>> all_hyperparameters;

  // The final evaluation ("eval_dim_{d}_cosine_..." keys); empty when nothing was evaluated.
  std::vector<std::pair<std::string, double>> final_metrics;
  nlohmann::json log_history = nlohmann::json::array();  // TrainerState::log_history
  std::optional<int64_t> saved_step;  // the step whose row is bold (the checkpoint that was kept)

  std::vector<std::pair<std::string, std::string>> versions;  // (framework, version)
};

// Markdown with YAML front matter. Pure: no I/O.
std::string render_model_card(const ModelCardData& data);

// The training-log table alone: columns Epoch, Step, Training Loss, then one per evaluated
// dim_{d}_cosine_ndcg@10; one row per logged step (training and evaluation rows at the same step
// merged), "-" where a value is missing, the `saved_step` row in bold.
std::string training_log_table(const nlohmann::json& log_history, const std::vector<int64_t>& dims,
                               std::optional<int64_t> saved_step);

}  // namespace embedtune::training
