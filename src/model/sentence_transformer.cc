// SentenceTransformer: loading, encoding and saving sentence-transformers model folders.
#include "model/sentence_transformer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/json.h"
#include "model/autocast.h"
#include "model/model_path.h"
#include "model/parallel_for.h"
#include "model/weights.h"
#include "tokenizer/chat_template.h"

namespace embedtune {
namespace fs = std::filesystem;
namespace {

// Module types as sentence-transformers writes them in modules.json, old and new spellings.
bool module_is(const std::string& type, std::string_view name) {
  const auto dot = type.rfind('.');
  return type.substr(dot == std::string::npos ? 0 : dot + 1) == name;
}

// A module's folder inside the model folder, as modules.json names it. sentence-transformers
// refuses absolute paths and ".." so that a downloaded model cannot read files outside its own
// folder; so does this.
fs::path module_path(const nlohmann::json& entry, const fs::path& modules_path) {
  const auto it = entry.find("path");
  if (it == entry.end() || it->is_null()) return {};
  if (!it->is_string()) {
    fail("{}: module \"path\" must be a string, found {}; fix modules.json", modules_path.string(),
         it->dump());
  }
  const fs::path path = it->get<std::string>();
  bool escapes = path.is_absolute() || path.has_root_name() || path.has_root_directory();
  for (const auto& part : path) escapes |= part == "..";
  if (escapes) {
    fail(
        "{}: module path '{}' leaves the model folder; a module's path must be a folder inside "
        "it (e.g. \"1_Pooling\")",
        modules_path.string(), path.string());
  }
  return path;
}

const char* const kTokenizerFiles[] = {"tokenizer.json", "tokenizer_config.json", "vocab.txt",
                                       "special_tokens_map.json", "chat_template.jinja"};

// The chat template sentence-transformers 6.2 renders every text through: a saved
// modality_config with "message" (its "format": flat, structured or auto), or, for a plain Hugging
// Face folder (no modules.json), a tokenizer with a chat template (Transformer.infer_modalities).
// Folders saved before modality_config existed are plain text whatever their tokenizer holds.
std::shared_ptr<const ChatTemplate> load_chat_template(const fs::path& transformer_dir,
                                                       bool has_modules,
                                                       const nlohmann::json& st_bert_config,
                                                       const fs::path& st_bert_config_path,
                                                       const nlohmann::json& config_json) {
  std::string format = "auto";
  if (has_modules) {
    const auto modalities =
        st_bert_config.is_object() ? st_bert_config.find("modality_config") : st_bert_config.end();
    if (modalities == st_bert_config.end() || !modalities->is_object() ||
        !modalities->contains("message")) {
      return nullptr;
    }
    const auto& message = (*modalities)["message"];
    if (message.is_object() && message.contains("format")) {
      const auto& value = message["format"];
      if (!value.is_string() || (value != "flat" && value != "structured" && value != "auto")) {
        fail(
            "{}: modality_config.message.format must be \"flat\", \"structured\" or \"auto\", "
            "found {}",
            st_bert_config_path.string(), value.dump());
      }
      format = value.get<std::string>();
    }
  }
  auto chat = ChatTemplate::from_folder(transformer_dir);
  if (!chat) {
    if (!has_modules) return nullptr;
    fail(
        "{}: modality_config has \"message\", so sentence-transformers renders each text through "
        "the tokenizer's chat template, but there is neither {} nor a chat_template in {}; add the "
        "template or remove the \"message\" entry",
        st_bert_config_path.string(),
        (transformer_dir / "chat_template.jinja").lexically_normal().string(),
        (transformer_dir / "tokenizer_config.json").lexically_normal().string());
  }
  if (format == "flat") {
    chat->set_format(ChatTemplate::MessageFormat::kFlat);
  } else if (format == "structured") {
    chat->set_format(ChatTemplate::MessageFormat::kStructured);
  } else {
    chat->set_format(chat->infer_format(config_json.value("model_type", "")));
  }
  return std::make_shared<const ChatTemplate>(std::move(*chat));
}

}  // namespace

SentenceTransformer SentenceTransformer::load(const std::string& name_or_path, c10::Device device) {
  const fs::path root = resolve_model_path(name_or_path);
  SentenceTransformer model;
  fs::path transformer_dir = root;
  bool has_pooling = false;

  const fs::path modules_path = root / "modules.json";
  if (fs::exists(modules_path)) {
    const nlohmann::json modules = io::read_json_file(modules_path);
    if (!modules.is_array()) fail("{}: expected a JSON list of modules", modules_path.string());
    for (const auto& entry : modules) {
      if (!entry.is_object() || !entry.contains("type") || !entry["type"].is_string()) {
        fail("{}: each module needs a \"type\" string, found {}", modules_path.string(),
             entry.dump());
      }
      const std::string type = entry["type"];
      const fs::path path = root / module_path(entry, modules_path);
      if (module_is(type, "Transformer")) {
        transformer_dir = path;
      } else if (module_is(type, "Pooling")) {
        model.pooling_ = PoolingConfig::load(path / "config.json");
        has_pooling = true;
      } else if (module_is(type, "Normalize")) {
        model.normalize_ = true;
      } else {
        fail(
            "{}: module type '{}' is not supported; embedtune runs Transformer -> Pooling -> "
            "Normalize models",
            modules_path.string(), type);
      }
    }
  }
  model.source_dir_ = transformer_dir;

  const fs::path config_path = transformer_dir / "config.json";
  if (!fs::exists(config_path)) {
    fail(
        "{}: expected a model folder (config.json, model.safetensors and tokenizer files, as "
        "sentence-transformers or transformers save them), found no config.json; pass the folder "
        "the model was saved to",
        transformer_dir.string());
  }
  model.config_json_ = io::read_json_file(config_path);
  model.encoder_ =
      load_encoder(model.config_json_, config_path, transformer_dir / "model.safetensors");
  const int64_t position_limit = model.encoder_->max_sequence_length();
  const int64_t hidden_size = model.encoder_->hidden_size();

  model.tokenizer_ = std::make_shared<Tokenizer>(Tokenizer::from_folder(transformer_dir));

  // max_seq_length: sentence_bert_config.json (v2-v5 layout), else the tokenizer's
  // model_max_length (v6 keeps it there), capped at the positions the model can embed.
  int64_t max_length = position_limit;
  bool have_length = false;
  const fs::path st_bert_config = transformer_dir / "sentence_bert_config.json";
  const fs::path tokenizer_config = transformer_dir / "tokenizer_config.json";
  nlohmann::json st_bert_json;
  if (fs::exists(st_bert_config)) {
    st_bert_json = io::read_json_file(st_bert_config);
    if (st_bert_json.contains("max_seq_length") &&
        st_bert_json["max_seq_length"].is_number_integer()) {
      max_length = st_bert_json["max_seq_length"].get<int64_t>();
      have_length = true;
    }
    model.do_lower_case_ = st_bert_json.value("do_lower_case", false);
  }
  model.chat_template_ = load_chat_template(transformer_dir, fs::exists(modules_path), st_bert_json,
                                            st_bert_config, model.config_json_);
  if (fs::exists(tokenizer_config)) {
    const auto json = io::read_json_file(tokenizer_config);
    const auto side = json.find("padding_side");
    model.pads_left_ = side != json.end() && *side == "left";
    if (!have_length && json.contains("model_max_length") && json["model_max_length"].is_number()) {
      const double limit = json["model_max_length"].get<double>();
      if (limit >= 1 && limit < static_cast<double>(max_length))
        max_length = static_cast<int64_t>(limit);
    }
  }
  if (max_length < 1) fail("{}: max_seq_length must be positive", st_bert_config.string());
  model.max_seq_length_ = std::min(max_length, position_limit);
  if (model.do_lower_case_ && !model.tokenizer_->lowercase()) {
    fail(
        "{}: do_lower_case is true but the tokenizer does not lowercase; embedtune does not "
        "support this combination",
        st_bert_config.string());
  }

  if (!has_pooling) {
    model.pooling_.modes = {"mean"};  // a plain Hugging Face folder: mean pooling, as ST does
  }
  if (model.pooling_.embedding_dimension == 0) model.pooling_.embedding_dimension = hidden_size;
  if (model.pooling_.embedding_dimension != hidden_size) {
    fail("{}: pooling embedding dimension {} differs from hidden_size {} in {}",
         (root / "1_Pooling" / "config.json").string(), model.pooling_.embedding_dimension,
         hidden_size, config_path.string());
  }
  const fs::path st_config = root / "config_sentence_transformers.json";
  if (fs::exists(st_config)) {
    model.st_config_json_ = io::read_json_file(st_config);
    model.prompts_ = Prompts::from_config(model.st_config_json_, st_config);
  }
  model.to(device);
  return model;
}

void SentenceTransformer::to(c10::Device device) {
  if (device.is_cuda() && !at::hasCUDA()) {
    fail(
        "--device cuda: this build of LibTorch or this machine has no CUDA device; use "
        "--device cpu");
  }
  encoder_->to(device);
  device_ = device;
}

void SentenceTransformer::set_max_seq_length(int64_t length) {
  const int64_t limit = encoder_->max_sequence_length();
  if (length < 1 || length > limit) {
    fail("max_seq_length {} is out of range; expected 1..{} (the positions the model can embed)",
         length, limit);
  }
  max_seq_length_ = length;
}

int64_t SentenceTransformer::parameter_count() const {
  int64_t count = 0;
  for (const auto& p : encoder_->parameters()) count += p.numel();
  return count;
}

std::vector<int32_t> SentenceTransformer::tokenize(std::string_view text, std::string_view prompt,
                                                   EncodeTask task) const {
  // A chat model gets the prompt as a system message (InputFormatter.prepend_prompt_to_messages),
  // and the task as the template's "task" variable.
  if (chat_template_) {
    const std::string_view task_name = task == EncodeTask::kQuery      ? "query"
                                       : task == EncodeTask::kDocument ? "document"
                                                                       : "";
    return chat_template_->encode(*tokenizer_, text, prompt, static_cast<size_t>(max_seq_length_),
                                  task_name);
  }
  if (prompt.empty()) return tokenizer_->encode(text, static_cast<size_t>(max_seq_length_));
  std::string joined;
  joined.reserve(prompt.size() + text.size());
  joined.append(prompt).append(text);
  return tokenizer_->encode(joined, static_cast<size_t>(max_seq_length_));
}

std::vector<std::vector<int32_t>> SentenceTransformer::tokenize_all(
    const std::vector<std::string>& texts, std::string_view prompt, EncodeTask task) const {
  std::vector<std::vector<int32_t>> ids(texts.size());
  // A text of a few hundred tokens takes tens of microseconds: 16 of them outweigh a fork.
  at::parallel_for(0, static_cast<int64_t>(texts.size()), 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) ids[i] = tokenize(texts[i], prompt, task);
  });
  return ids;
}

int64_t SentenceTransformer::prompt_length(std::string_view prompt) const {
  // sentence-transformers does not track the prompt of a chat-rendered text: pooling keeps it.
  if (prompt.empty() || chat_template_) return 0;
  // As sentence-transformers' _get_prompt_length: the prompt tokenised alone, less a trailing
  // special token ([SEP], </s>, <|endoftext|>); a leading [CLS] counts as part of the prompt.
  const std::vector<int32_t> ids = tokenize({}, prompt);
  auto length = static_cast<int64_t>(ids.size());
  if (!ids.empty() && tokenizer_->is_special(ids.back())) --length;
  return length;
}

at::Tensor SentenceTransformer::forward_mixed(const PackedBatch& batch, bool bf16) {
  if (!bf16 || !device_.is_cuda()) return forward(batch);
  AutocastGuard autocast(device_);
  return forward(batch).to(at::kFloat);  // accelerate's convert_outputs_to_fp32
}

at::Tensor SentenceTransformer::forward(const PackedBatch& batch, int64_t prompt_length) {
  at::Tensor tokens = encoder_->forward(batch);
  at::Tensor pooled = pool(pooling_, tokens, batch, prompt_length);
  if (normalize_) pooled = pooled / pooled.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
  return pooled;
}

std::string SentenceTransformer::similarity_fn_name() const {
  if (st_config_json_.is_object()) {
    const auto it = st_config_json_.find("similarity_fn_name");
    if (it != st_config_json_.end() && it->is_string()) return it->get<std::string>();
  }
  return "cosine";
}

at::Tensor truncate_and_normalize(const at::Tensor& embeddings, int64_t dim) {
  const int64_t full = embeddings.size(1);
  if (dim < 1 || dim > full) {
    fail("dimension {} is out of range; expected 1..{} (the model's embedding dimension)", dim,
         full);
  }
  at::Tensor sliced = embeddings.slice(1, 0, dim);
  return sliced / sliced.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
}

at::Tensor SentenceTransformer::encode(const std::vector<std::string>& texts,
                                       const EncodeOptions& options) {
  if (options.batch_size < 1) fail("--batch-size must be at least 1, found {}", options.batch_size);
  const int64_t full = dimension();
  if (options.dim != 0 && (options.dim < 1 || options.dim > full)) {
    fail("--dim {} is out of range; expected 1..{} (the model's embedding dimension)", options.dim,
         full);
  }
  const int64_t prompt_length = pooling_.include_prompt ? 0 : this->prompt_length(options.prompt);
  const auto n = static_cast<int64_t>(texts.size());
  const std::vector<std::vector<int32_t>> ids = tokenize_all(texts, options.prompt, options.task);

  // Longest first, as sentence-transformers orders its batches; ties keep input order.
  std::vector<int64_t> order(texts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return ids[a].size() > ids[b].size(); });

  c10::InferenceMode inference;
  const bool was_training = encoder_->is_training();
  encoder_->eval();
  TORCH_INTERNAL_ASSERT(options.shard_count >= 1 && options.shard_index >= 0 &&
                        options.shard_index < options.shard_count);
  at::Tensor out =
      options.shard_count > 1 ? at::zeros({n, full}, at::kFloat) : at::empty({n, full}, at::kFloat);
  for (int64_t start = 0, b = 0; start < n; start += options.batch_size, ++b) {
    const int64_t end = std::min(n, start + options.batch_size);
    if (b % options.shard_count != options.shard_index) continue;
    std::vector<const std::vector<int32_t>*> batch_ids;
    std::vector<int64_t> rows;
    for (int64_t i = start; i < end; ++i) {
      batch_ids.push_back(&ids[order[i]]);
      rows.push_back(order[i]);
    }
    at::Tensor embeddings;
    {
      AutocastGuard autocast(device_, options.bf16);
      embeddings = forward(PackedBatch::from_ids(batch_ids, device_, pads_left_), prompt_length);
    }
    out.index_copy_(0, at::tensor(rows, at::kLong), embeddings.to(at::kCPU, at::kFloat));
    if (options.progress) options.progress(end, n);
  }
  if (was_training) encoder_->train();
  if (options.dim != 0 && options.dim != full) return truncate_and_normalize(out, options.dim);
  return out;
}

void SentenceTransformer::save(const fs::path& dir) const {
  fs::path target = fs::absolute(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "out/" -> "out"
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (target == target.root_path() ||
      (!ec &&
       std::mismatch(target.begin(), target.end(), cwd.begin(), cwd.end()).first == target.end())) {
    fail(
        "{}: the output folder would replace the current folder or one above it; name a new "
        "folder (e.g. {}/my-model)",
        dir.string(), dir.string());
  }
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec))
      fail("{}: is a file; expected a folder to write the model into", dir.string());
    const bool empty = fs::is_empty(target, ec);
    const bool model_folder =
        fs::exists(target / "modules.json", ec) || fs::exists(target / "config.json", ec);
    if (!empty && !model_folder) {
      fail(
          "{}: exists and is not a model folder (no modules.json or config.json); writing the "
          "model would replace what is in it, so choose a new or empty folder",
          dir.string());
    }
  }
  const fs::path parent = target.parent_path();
  const fs::path staging = io::staging_path(target, "tmp");
  const fs::path old = io::staging_path(target, "old");
  try {
    fs::create_directories(parent);
    fs::remove_all(staging);
    fs::create_directories(staging / "1_Pooling");
    save_weights(*encoder_, staging / "model.safetensors");
    io::write_json_file_atomic(staging / "config.json", config_json_);
    for (const char* name : kTokenizerFiles) {
      if (fs::exists(source_dir_ / name)) fs::copy_file(source_dir_ / name, staging / name);
    }
    nlohmann::ordered_json modules = nlohmann::ordered_json::array();
    modules.push_back({{"idx", 0},
                       {"name", "0"},
                       {"path", ""},
                       {"type", "sentence_transformers.models.Transformer"}});
    modules.push_back({{"idx", 1},
                       {"name", "1"},
                       {"path", "1_Pooling"},
                       {"type", "sentence_transformers.models.Pooling"}});
    if (normalize_) {
      modules.push_back({{"idx", 2},
                         {"name", "2"},
                         {"path", "2_Normalize"},
                         {"type", "sentence_transformers.models.Normalize"}});
      fs::create_directories(staging / "2_Normalize");
    }
    io::write_file_atomic(staging / "modules.json", modules.dump(2) + "\n");
    nlohmann::json st_bert_config = {{"max_seq_length", max_seq_length_},
                                     {"do_lower_case", do_lower_case_}};
    if (chat_template_) {
      // As sentence-transformers 6.2 saves a Transformer with the "message" modality, so that it
      // loads this folder rendering texts the same way.
      const nlohmann::json forward = {{"method", "forward"},
                                      {"method_output_name", "last_hidden_state"}};
      nlohmann::json message = forward;
      message["format"] =
          chat_template_->format() == ChatTemplate::MessageFormat::kFlat ? "flat" : "structured";
      st_bert_config["transformer_task"] = "feature-extraction";
      st_bert_config["modality_config"] = {{"text", forward}, {"message", message}};
      st_bert_config["module_output_name"] = "token_embeddings";
    }
    io::write_json_file_atomic(staging / "sentence_bert_config.json", st_bert_config);
    nlohmann::json st_config =
        st_config_json_.is_object() ? st_config_json_ : nlohmann::json::object();
    // The prompts as loaded, as ST's save writes self.prompts: "query" and "document" always
    // there, a null prompt written as "".
    st_config["prompts"] = prompts_.by_name();
    st_config["default_prompt_name"] = prompts_.default_prompt_name()
                                           ? nlohmann::json(*prompts_.default_prompt_name())
                                           : nlohmann::json(nullptr);
    if (!st_config.contains("similarity_fn_name")) st_config["similarity_fn_name"] = "cosine";
    st_config["__version__"]["embedtune"] = "0.1.0";
    io::write_json_file_atomic(staging / "config_sentence_transformers.json", st_config);
    io::write_json_file_atomic(staging / "1_Pooling" / "config.json", pooling_.to_json());
    // Swap the finished folder into place; the old one is removed only after the rename (a
    // crash in between leaves it as .NAME.old-PID, which io::clean_stale_staging puts back).
    if (fs::exists(target)) fs::rename(target, old);
    fs::rename(staging, target);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ec);
    if (!fs::exists(target, ec) && fs::exists(old, ec)) fs::rename(old, target, ec);
    fail(
        "{}: writing the model failed ({}); the previous contents, if any, are unchanged. Check "
        "free disk space and permissions",
        dir.string(), e.code().message());
  } catch (...) {
    fs::remove_all(staging, ec);
    if (!fs::exists(target, ec) && fs::exists(old, ec)) fs::rename(old, target, ec);
    throw;
  }
  fs::remove_all(old, ec);
}

}  // namespace embedtune
