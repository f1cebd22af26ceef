// SentenceTransformer: a sentence-transformers model folder (Transformer -> Pooling ->
// Normalize) loaded, run and saved natively. Encoding matches sentence_transformers'
// SentenceTransformer.encode numerically (fp32 on the CPU).
//
// Letters: B sequences, N texts, D embedding dimension.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/architectures/encoder.h"
#include "model/pooling.h"
#include "model/prompts.h"
#include "tokenizer/tokenizer.h"

namespace embedtune {

class ChatTemplate;

struct EncodeOptions {
  int64_t batch_size = 32;
  int64_t dim = 0;  // keep the first `dim` values and re-normalise them; 0 keeps all
  // Prepended to every text, as sentence-transformers' prompt= once resolved: the caller picks it
  // with SentenceTransformer::resolve_prompt (encode uses it as given, "" for none).
  std::string prompt;
  // Which encode method of sentence-transformers this is: encode_query and encode_document pass
  // their task ("query", "document") to a chat template that reads the variable "task". The
  // prompt is resolved apart (see SentenceTransformer::resolve_prompt).
  EncodeTask task = EncodeTask::kEncode;
  // bf16 autocast on CUDA (ignored on the CPU). Off by default: encoding and evaluation run in
  // fp32, as the reference evaluates.
  bool bf16 = false;
  // Called after each batch with (texts done, texts in all); may be empty.
  std::function<void(int64_t, int64_t)> progress;
  // Sharing the work between processes: only batches b with b % shard_count == shard_index are
  // encoded, the other rows are left 0, so the sum of every shard's result (an all-reduce) is
  // the whole encoding, computed batch for batch as one process computes it.
  int64_t shard_index = 0, shard_count = 1;
};

class SentenceTransformer {
 public:
  // Loads a sentence-transformers folder (modules.json), or a plain Hugging Face folder (mean
  // pooling, no normalisation, as sentence-transformers does) of any architecture
  // supported_model_types() lists, from a path or a Hugging
  // Face id in the local cache. Throws embedtune::Error naming the file for anything missing,
  // malformed or unsupported.
  static SentenceTransformer load(const std::string& name_or_path,
                                  c10::Device device = c10::Device(c10::kCPU));

  // Writes the sentence-transformers layout (model.safetensors, config.json, tokenizer files,
  // modules.json, sentence_bert_config.json, config_sentence_transformers.json, 1_Pooling/,
  // 2_Normalize/) into `dir`, which is replaced whole: the new folder is written beside it and
  // renamed into place, so a crash never leaves a half-written model.
  void save(const std::filesystem::path& dir) const;

  // Texts -> (N, D) float32 on the CPU in input order, D = dim or dimension(). Batches are
  // formed from length-sorted texts; runs in inference mode, in fp32 unless options.bf16.
  at::Tensor encode(const std::vector<std::string>& texts, const EncodeOptions& options = {});

  // Token ids as the model sees them: prompt + text, [CLS] ... [SEP], cut at max_seq_length().
  // A chat model renders the text through its template, with `task` as its "task" variable when
  // the template reads one (kQuery: "query", kDocument: "document"; kEncode: undefined).
  std::vector<int32_t> tokenize(std::string_view text, std::string_view prompt = {},
                                EncodeTask task = EncodeTask::kEncode) const;
  // tokenize() of every text, row i for texts[i], spread over LibTorch's intra-op threads
  // (at::get_num_threads()): the tokenizer is thread-safe, and tokenizing a corpus one text at a
  // time would leave a GPU waiting. Throws what tokenize() throws.
  std::vector<std::vector<int32_t>> tokenize_all(const std::vector<std::string>& texts,
                                                 std::string_view prompt = {},
                                                 EncodeTask task = EncodeTask::kEncode) const;

  // Sentence embeddings with autograd (for training): (B, D), normalised if the model normalises.
  // `prompt_length`: tokens at the start of each sequence that pooling leaves out (see pool()).
  at::Tensor forward(const PackedBatch& batch, int64_t prompt_length = 0);
  // forward() as accelerate runs the model transformers' Trainer prepares with bf16: true: bf16
  // autocast on CUDA around this one forward (its weight cache dropped when it ends) and the
  // output widened to fp32, so that everything computed from it (the loss, the similarity
  // scores) is fp32. Without `bf16`, or on the CPU, forward().
  at::Tensor forward_mixed(const PackedBatch& batch, bool bf16);
  // The tokens of `prompt` that pooling leaves out when the model's Pooling has include_prompt
  // false, as sentence-transformers counts them; 0 for an empty prompt.
  int64_t prompt_length(std::string_view prompt) const;

  int64_t dimension() const { return pooling_.output_dimension(); }
  int64_t max_seq_length() const { return max_seq_length_; }
  // Throws embedtune::Error when `length` is not in 1..encoder().max_sequence_length().
  void set_max_seq_length(int64_t length);
  bool normalizes() const { return normalize_; }
  // tokenizer_config.json's padding_side is "left": batches are packed with the padding first
  // (see PackedBatch::left_padded).
  bool pads_left() const { return pads_left_; }
  const PoolingConfig& pooling() const { return pooling_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  // config_sentence_transformers.json's similarity_fn_name ("cosine" when absent or null, as
  // ST's model.similarity falls back to cos_sim).
  std::string similarity_fn_name() const;
  // The named prompts of config_sentence_transformers.json over ST's defaults (see Prompts).
  const Prompts& prompts() const { return prompts_; }
  // The prompt text for EncodeOptions::prompt, as ST's encode (kEncode), encode_query (kQuery)
  // or encode_document (kDocument) chooses it: see Prompts::resolve, which this forwards to.
  std::string resolve_prompt(const std::optional<std::string>& prompt,
                             const std::optional<std::string>& prompt_name,
                             EncodeTask task = EncodeTask::kEncode) const {
    return prompts_.resolve(prompt, prompt_name, task);
  }
  // The transformer (BertModel, XLMRobertaModel, ...): its parameters are what training updates.
  // The chat template every text goes through, as sentence-transformers 6.2 renders texts for a
  // Transformer whose modality_config has "message" (and for a plain Hugging Face folder whose
  // tokenizer has a chat template); null for plain text models.
  const ChatTemplate* chat_template() const { return chat_template_.get(); }
  Encoder& encoder() { return *encoder_; }
  const Encoder& encoder() const { return *encoder_; }
  c10::Device device() const { return device_; }
  void to(c10::Device device);
  const std::filesystem::path& source_dir() const { return source_dir_; }
  int64_t parameter_count() const;

 private:
  SentenceTransformer() = default;

  std::filesystem::path source_dir_;
  std::shared_ptr<Encoder> encoder_;
  std::shared_ptr<Tokenizer> tokenizer_;
  std::shared_ptr<const ChatTemplate> chat_template_;
  PoolingConfig pooling_;
  bool normalize_ = false;
  int64_t max_seq_length_ = 512;
  bool do_lower_case_ = false;
  bool pads_left_ = false;
  nlohmann::json config_json_;     // config.json as found, written back on save
  nlohmann::json st_config_json_;  // config_sentence_transformers.json, if any
  Prompts prompts_;                // read from st_config_json_
  c10::Device device_ = c10::Device(c10::kCPU);
};

// "dims" for --dim: keeps the first `dim` columns of (N, D) embeddings and re-normalises rows
// (x / max(||x||, 1e-12), as torch.nn.functional.normalize). Throws embedtune::Error when
// dim is not in 1..D.
at::Tensor truncate_and_normalize(const at::Tensor& embeddings, int64_t dim);

}  // namespace embedtune
