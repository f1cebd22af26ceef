// Hard-negative mining: sentence-transformers 6.2's util.mine_hard_negatives without a
// cross-encoder or FAISS: encode the anchors and the corpus once, take an exact top-k per anchor in
// chunks, filter the candidates (positives, margins, score bounds, rank range) and sample
// negatives.
//
// Letters: Q unique anchors, N corpus texts, P (anchor, positive) pairs, K candidates per anchor.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mining/mine_settings.h"

namespace embedtune {
class SentenceTransformer;
}

namespace embedtune::mining {

// What mining found: the output rows and the summary sentence-transformers prints.
struct MineResult {
  std::vector<nlohmann::ordered_json> rows;  // the output dataset, one object per row
  std::vector<std::string> columns;          // its column names, in order
  std::string report;                        // the verbose text (settings notes, table, skips)
  // The scores behind the table, for reports: one per (anchor, positive) pair, one per negative
  // kept, and positive - negative for each negative kept.
  at::Tensor positive_scores, negative_scores, difference_scores;
  int64_t unique_anchors = 0;
  int64_t range_max = 0;                // as used (derived when the setting is null)
  int64_t missing_samples = 0;          // rows that could not get enough negatives
  int64_t maximum_samples = 0;          // rows there would be if every anchor had enough
  std::vector<nlohmann::json> skipped;  // {"parameter", "value", "skipped", "ratio"}
};

// Progress while encoding: (what, done, total), what = "corpus" or "queries".
using MineProgress = std::function<void(std::string_view what, int64_t done, int64_t total)>;

// Mines `settings.num_negatives` negatives for each (anchors[i], positives[i]) pair with `model`,
// as mine_hard_negatives(dataset, model, corpus=corpus, ...) with use_faiss=False: the corpus is
// `corpus` (when given) followed by the positives, with repeated texts kept once, so a text equal
// to an anchor's positive is that positive; anchors that repeat are one query whose positives are
// all excluded. Output rows and `report` are as ST builds and prints them. Random sampling draws
// as Python's random module seeded with settings.seed. Throws embedtune::Error (one line, naming
// the setting) for an empty dataset, mismatched lengths, an impossible range, or an unknown
// format or strategy.
MineResult mine_hard_negatives(SentenceTransformer& model, const std::vector<std::string>& anchors,
                               const std::vector<std::string>& positives,
                               const std::vector<std::string>* corpus, const MineSettings& settings,
                               const MineProgress& progress = {});

// The summary as JSON, for reports: {"positive"|"negative"|"difference": {"count", "mean",
// "median", "std", "min", "25%", "50%", "75%", "max"}, "rows", "unique_anchors", "range_max",
// "missing_samples", "maximum_samples", "skipped": [...], "report": the printed text}. A statistic
// of no scores is null.
nlohmann::ordered_json summary_json(const MineResult& result);

// The rows as JSON Lines (UTF-8 as is, one object per line), written atomically.
void write_mined_jsonl(const std::filesystem::path& path, const MineResult& result);

}  // namespace embedtune::mining
