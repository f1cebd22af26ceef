// checkpoint_state: the JSON files of a checkpoint, read and checked without LibTorch.
#include "training/checkpoint_state.h"

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <random>
#include <sstream>
#include <type_traits>

#include "io/error.h"
#include "io/json.h"

namespace embedtune::training {
namespace {

template <class T>
T get_field(const nlohmann::json& json, const char* key, const std::string& origin) {
  if (!json.contains(key)) fail("{}: missing field '{}'; pick another checkpoint", origin, key);
  if constexpr (std::is_same_v<T, int64_t>) {
    const std::optional<int64_t> value = io::json_int64(json.at(key));
    if (!value) {
      fail("{}: field '{}' has the wrong type ({}; expected an integer); pick another checkpoint",
           origin, key, json.at(key).dump());
    }
    return *value;
  }
  try {
    return json.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: field '{}' has the wrong type ({}); pick another checkpoint", origin, key,
         json.at(key).dump());
  }
}

}  // namespace

nlohmann::json TrainerState::to_json() const {
  nlohmann::json json;
  json["epoch"] = epoch;
  json["global_step"] = global_step;
  json["max_steps"] = max_steps;
  json["logging_steps"] = logging_steps;
  json["eval_steps"] = eval_steps;
  json["save_steps"] = save_steps;
  json["train_batch_size"] = train_batch_size;
  json["num_train_epochs"] = num_train_epochs;
  json["num_input_tokens_seen"] = num_input_tokens_seen;
  json["total_flos"] = total_flos;
  json["log_history"] = log_history;
  json["best_metric"] = best_metric ? nlohmann::json(*best_metric) : nlohmann::json(nullptr);
  json["best_global_step"] =
      best_global_step ? nlohmann::json(*best_global_step) : nlohmann::json(nullptr);
  json["best_model_checkpoint"] =
      best_model_checkpoint ? nlohmann::json(*best_model_checkpoint) : nlohmann::json(nullptr);
  json["is_local_process_zero"] = true;
  json["is_world_process_zero"] = true;
  json["is_hyper_param_search"] = false;
  json["trial_name"] = nullptr;
  json["trial_params"] = nullptr;
  json["stateful_callbacks"] = nlohmann::json::object();
  return json;
}

TrainerState TrainerState::from_json(const nlohmann::json& json, const std::string& origin) {
  if (!json.is_object()) fail("{}: expected a JSON object; pick another checkpoint", origin);
  TrainerState state;
  state.epoch = get_field<double>(json, "epoch", origin);
  state.global_step = get_field<int64_t>(json, "global_step", origin);
  state.max_steps = get_field<int64_t>(json, "max_steps", origin);
  state.logging_steps = get_field<int64_t>(json, "logging_steps", origin);
  state.eval_steps = get_field<int64_t>(json, "eval_steps", origin);
  state.save_steps = get_field<int64_t>(json, "save_steps", origin);
  if (json.contains("train_batch_size") && !json["train_batch_size"].is_null())
    state.train_batch_size = get_field<int64_t>(json, "train_batch_size", origin);
  state.num_train_epochs = get_field<int64_t>(json, "num_train_epochs", origin);
  if (json.contains("num_input_tokens_seen"))
    state.num_input_tokens_seen = get_field<int64_t>(json, "num_input_tokens_seen", origin);
  if (json.contains("total_flos")) state.total_flos = get_field<double>(json, "total_flos", origin);
  state.log_history = get_field<nlohmann::json>(json, "log_history", origin);
  if (!state.log_history.is_array())
    fail("{}: log_history is not a list; pick another checkpoint", origin);
  if (json.contains("best_metric") && !json["best_metric"].is_null())
    state.best_metric = get_field<double>(json, "best_metric", origin);
  if (json.contains("best_global_step") && !json["best_global_step"].is_null())
    state.best_global_step = get_field<int64_t>(json, "best_global_step", origin);
  if (json.contains("best_model_checkpoint") && !json["best_model_checkpoint"].is_null())
    state.best_model_checkpoint = get_field<std::string>(json, "best_model_checkpoint", origin);
  return state;
}

std::string to_hex(const std::vector<uint8_t>& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::vector<uint8_t> from_hex(const std::string& hex, const std::string& origin) {
  auto digit = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    fail("{}: generator state is not hexadecimal; pick another checkpoint", origin);
  };
  if (hex.size() % 2 != 0)
    fail("{}: generator state has an odd length; pick another checkpoint", origin);
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2)
    out[i / 2] = static_cast<uint8_t>(digit(hex[i]) * 16 + digit(hex[i + 1]));
  return out;
}

nlohmann::json RngStateFile::to_json() const {
  return {
      {"torch_cpu", to_hex(torch_cpu)},
      {"torch_cuda", torch_cuda ? nlohmann::json(to_hex(*torch_cuda)) : nlohmann::json(nullptr)},
      {"mt19937_64", mt19937_64},
      {"epoch", epoch},
      {"micro_batch", micro_batch}};
}

RngStateFile RngStateFile::from_json(const nlohmann::json& json, const std::string& origin) {
  if (!json.is_object()) fail("{}: expected a JSON object; pick another checkpoint", origin);
  RngStateFile rng;
  rng.torch_cpu = from_hex(get_field<std::string>(json, "torch_cpu", origin), origin);
  if (json.contains("torch_cuda") && !json["torch_cuda"].is_null())
    rng.torch_cuda = from_hex(get_field<std::string>(json, "torch_cuda", origin), origin);
  rng.mt19937_64 = get_field<std::string>(json, "mt19937_64", origin);
  {
    std::istringstream text(rng.mt19937_64);
    std::mt19937_64 probe;
    text >> probe;
    if (text.fail()) fail("{}: mt19937_64 is not an engine state; pick another checkpoint", origin);
  }
  rng.epoch = get_field<int64_t>(json, "epoch", origin);
  rng.micro_batch = get_field<int64_t>(json, "micro_batch", origin);
  if (rng.epoch < 0 || rng.micro_batch < 0) {
    fail("{}: epoch {} and micro_batch {} must not be negative; pick another checkpoint", origin,
         rng.epoch, rng.micro_batch);
  }
  return rng;
}

CheckpointState read_checkpoint_state(const std::filesystem::path& dir) {
  CheckpointState out;
  const auto state_path = dir / "trainer_state.json";
  out.state = TrainerState::from_json(io::read_json_file(state_path), state_path.string());
  const auto rng_path = dir / "rng_state.json";
  out.rng = RngStateFile::from_json(io::read_json_file(rng_path), rng_path.string());
  out.scheduler = io::read_json_file(dir / "scheduler.json");
  const auto resume_path = dir / "resume.json";
  out.resume = io::read_json_file(resume_path);
  if (!out.resume.is_object())
    fail("{}: expected a JSON object; pick another checkpoint", resume_path.string());
  return out;
}

}  // namespace embedtune::training
