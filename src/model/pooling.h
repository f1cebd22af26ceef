// Pooling: token embeddings -> one sentence embedding, as sentence_transformers.models.Pooling,
// computed on packed tokens (segment reductions over each sequence's tokens, no padding).
//
// Letters: B sequences, N packed tokens, H hidden size.
#pragma once

#include <ATen/Tensor.h>

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/packed_batch.h"

namespace embedtune {

struct PoolingConfig {
  // Modes in sentence-transformers' names and concatenation order:
  // "cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken".
  std::vector<std::string> modes{"mean"};
  int64_t embedding_dimension = 0;
  bool include_prompt = true;

  int64_t output_dimension() const {
    return embedding_dimension * static_cast<int64_t>(modes.size());
  }

  // Reads 1_Pooling/config.json in either layout: the legacy pooling_mode_* flags (v2-v5) or
  // the v6 "pooling_mode" key. Throws embedtune::Error for an unknown mode, naming the file.
  static PoolingConfig load(const std::filesystem::path& path);
  // Writes the legacy flag layout, which every sentence-transformers version reads.
  nlohmann::json to_json() const;
};

// (N, H) packed token embeddings -> (B, H * modes) sentence embeddings. `prompt_length` > 0
// (with include_prompt false): the first prompt_length tokens of each sequence are left out, as
// sentence-transformers masks them: cls takes the first token after them, lasttoken gives zeros
// for a sequence with nothing after them, mean and max skip them, weightedmean keeps the other
// tokens' position weights.
at::Tensor pool(const PoolingConfig& config, const at::Tensor& tokens, const PackedBatch& batch,
                int64_t prompt_length = 0);

}  // namespace embedtune
