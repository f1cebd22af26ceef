// Encoder: what every architecture (BertModel, XLMRobertaModel, MPNetModel, ...) offers the rest
// of embedtune, and load_encoder(), which picks the architecture from config.json's model_type.
//
// Adding a model type: write architectures/<type>.{h,cc} (one struct per Hugging Face module,
// registered under the checkpoint's key names, forward on a PackedBatch), give it a
// make_<type>() factory, and add one line to the table in encoder.cc.
//
// Letters: N packed tokens, H hidden size.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/layers.h"
#include "model/packed_batch.h"

namespace embedtune {

class Encoder : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;

  // Token embeddings of the last layer (after the final norm, where the model has one), packed:
  // (N, H). Dropout only in training mode. Thread safety: as a torch::nn::Module.
  virtual at::Tensor forward(const PackedBatch& batch) = 0;

  // The transformers class name: "BertModel", "XLMRobertaModel", ...
  virtual std::string architecture() const = 0;
  virtual int64_t hidden_size() const = 0;
  // The longest token sequence the model can embed (its position table or rotary limit).
  virtual int64_t max_sequence_length() const = 0;
  // The sizes for `embedtune info`, e.g. "6 layers, 12 heads, hidden 384, intermediate 1536".
  virtual std::string summary() const = 0;
};

// Tensor names in model.safetensors (base-model prefixes such as "bert." removed) -> shapes.
using WeightShapes = std::map<std::string, std::vector<int64_t>>;

// Expects `name` in `shapes` with exactly `shape`; otherwise throws embedtune::Error naming the
// weights file, config.json and `keys` (the config keys that imply the shape). Architectures
// call it before allocating anything from config.json's sizes, so a config.json claiming a
// vocabulary of 10^12 is an error, not an attempt to allocate it.
void expect_weight_shape(const WeightShapes& shapes, const std::string& name,
                         const std::vector<int64_t>& shape, const char* keys,
                         const std::filesystem::path& config_path,
                         const std::filesystem::path& weights_path);

// The token embedding table of every architecture: nn.Embedding(vocab, hidden, padding_idx) as
// transformers builds it, so the row of `padding_idx` (the pad token id; none when unset) gets
// no gradient in training. The configs check that padding_idx is a token id (see
// check_pad_token_id).
Embedding token_embedding(int64_t vocab_size, int64_t hidden_size,
                          std::optional<int64_t> padding_idx);

// Throws embedtune::Error "WHERE: pad_token_id ... " unless pad_token_id is unset or in
// 0..vocab_size-1 (nn.Embedding refuses any other padding_idx).
void check_pad_token_id(std::optional<int64_t> pad_token_id, int64_t vocab_size,
                        const std::string& where);

// The model types load_encoder() accepts, as config.json spells them.
std::vector<std::string> supported_model_types();

// Reads config.json (already parsed: `config`) and model.safetensors from a Transformer folder,
// builds the architecture config.json's model_type names and loads its weights, in eval mode.
// Throws embedtune::Error for an unsupported model_type (one line naming it and the supported
// ones), a malformed config, a missing weights file, or weights that disagree with the config.
std::shared_ptr<Encoder> load_encoder(const nlohmann::json& config,
                                      const std::filesystem::path& config_path,
                                      const std::filesystem::path& weights_path);

}  // namespace embedtune
