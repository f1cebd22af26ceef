// MineSettings: the parameters of hard-negative mining as one settings list (plain C++, so the
// recipe reader and its fuzz target need no LibTorch).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace embedtune::mining {

// mine_hard_negatives' parameters, spelled as they are (`--num_negatives` on the command line, the
// same keys in a recipe's mine: section). Optional numbers are Python's None when unset.
struct MineSettings {
  std::string anchor_column_name = "anchor";
  std::string positive_column_name = "positive";
  int64_t range_min = 0;
  std::optional<int64_t> range_max;
  std::optional<double> max_score;
  std::optional<double> min_score;
  std::optional<double> absolute_margin;
  std::optional<double> relative_margin;
  int64_t num_negatives = 3;
  std::string sampling_strategy = "top";
  std::string query_prompt_name;
  std::string query_prompt;
  std::string corpus_prompt_name;
  std::string corpus_prompt;
  bool include_positives = false;
  std::string output_format = "triplet";
  bool output_scores = false;
  int64_t batch_size = 32;
  int64_t faiss_batch_size = 16384;
  int64_t seed = 42;
  std::string cache_folder;

  template <class Self, class Visit>
  static void for_each(Self& self, Visit&& visit) {
    visit(self.anchor_column_name, "anchor_column_name", std::string("anchor"),
          "Field of the anchor (query) text");
    visit(self.positive_column_name, "positive_column_name", std::string("positive"),
          "Field of the positive text");
    visit(self.range_min, "range_min", int64_t{0},
          "Skip this many of the closest candidates (ranks start at 0)");
    visit(self.range_max, "range_max", std::optional<int64_t>(),
          "Consider candidates up to this rank (null: range_min + num_negatives [x10 with a margin "
          "or max_score] + the most positives of an anchor)");
    visit(self.max_score, "max_score", std::optional<double>(),
          "Drop candidates scoring above this (null: no bound)");
    visit(self.min_score, "min_score", std::optional<double>(),
          "Drop candidates scoring below this (null: no bound)");
    visit(self.absolute_margin, "absolute_margin", std::optional<double>(),
          "Keep a candidate only if score + margin <= the anchor's lowest positive score");
    visit(self.relative_margin, "relative_margin", std::optional<double>(),
          "Keep a candidate only if score <= positive - |positive| * margin (0.05: NV-Retriever)");
    visit(self.num_negatives, "num_negatives", int64_t{3}, "Negatives per anchor");
    visit(self.sampling_strategy, "sampling_strategy", std::string("top"),
          "top: the best candidates left; random: a uniform sample of them");
    visit(self.query_prompt_name, "query_prompt_name", std::string(),
          "The model's prompt, by name, for the anchors (empty: encode_query's default)");
    visit(self.query_prompt, "query_prompt", std::string(),
          "Prompt text for the anchors (wins over query_prompt_name)");
    visit(self.corpus_prompt_name, "corpus_prompt_name", std::string(),
          "The model's prompt, by name, for the corpus (empty: encode_document's default)");
    visit(self.corpus_prompt, "corpus_prompt", std::string(),
          "Prompt text for the corpus (wins over corpus_prompt_name)");
    visit(self.include_positives, "include_positives", false,
          "Keep the positives among the candidates (a full ranking; forces n-tuple)");
    visit(self.output_format, "output_format", std::string("triplet"),
          "triplet, n-tuple, labeled-pair or labeled-list");
    visit(self.output_scores, "output_scores", false,
          "Add the similarity scores (replaces labels in the labeled formats)");
    visit(self.batch_size, "batch_size", int64_t{32}, "Texts per encoding batch");
    visit(self.faiss_batch_size, "faiss_batch_size", int64_t{16384},
          "Anchors per chunk of the exact top-k (bounds the score matrix to chunk x corpus)");
    visit(self.seed, "seed", int64_t{42},
          "random sampling: the draws Python's random.seed(seed) would give");
    visit(self.cache_folder, "cache_folder", std::string(),
          "Keep the embeddings here and reuse them when the model, prompts and texts match");
  }

  // Checks the values that do not depend on the data (names, num_negatives >= 1, range_min >= 0,
  // batch sizes >= 1). Throws embedtune::Error naming the key (prefixed by `where`).
  void validate(std::string_view where) const;
};

}  // namespace embedtune::mining
