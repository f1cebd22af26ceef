// Reading an architecture's config.json keys: absent or null keeps the transformers default, a
// value of the wrong type is an embedtune::Error naming the file and the key. Included by the
// architecture .cc files only (it pulls in nlohmann/json.hpp).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "io/error.h"
#include "io/json.h"

namespace embedtune {

template <typename T>
void read_config_key(const nlohmann::json& json, const std::string& where, const char* key,
                     T& out) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return;  // keep the transformers default
  if constexpr (std::is_same_v<T, int64_t>) {
    const std::optional<int64_t> value = io::json_int64(*it);
    if (!value) {
      fail("{}: key '{}' has the wrong type (found {}; expected an integer); fix the config", where,
           key, it->dump());
    }
    out = *value;
    return;
  }
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: key '{}' has the wrong type (found {}); fix the config", where, key, it->dump());
  }
}

// An optional key: absent keeps `out`, null empties it (transformers' None).
template <typename T>
void read_config_key(const nlohmann::json& json, const std::string& where, const char* key,
                     std::optional<T>& out) {
  const auto it = json.find(key);
  if (it == json.end()) return;
  if (it->is_null()) {
    out.reset();
    return;
  }
  T value{};
  read_config_key(json, where, key, value);
  out = value;
}

// Throws "WHERE: key 'KEY' must be positive, found V" for the first (key, value) pair whose
// value is not positive.
void expect_positive(const std::string& where,
                     std::initializer_list<std::pair<const char*, int64_t>> sizes);

// Reads the activation under `key` (absent: `expected`) and throws "WHERE: KEY 'x' is not
// supported; expected "EXPECTED" (WHAT)" for any other.
void expect_activation(const nlohmann::json& json, const std::string& where, const char* key,
                       const char* expected, const char* what);

// Throws when config.json sets rope_scaling: embedtune runs the default rotary embedding only.
void refuse_rope_scaling(const nlohmann::json& json, const std::string& where);

// The theta of one rope_parameters entry ({"rope_type": "default", "rope_theta": ...}, as
// transformers 5 writes them), `theta` when the entry has none. `label` names the entry in
// errors ("rope_parameters.full_attention"). Throws for a rope type other than "default" and a
// theta that is not positive.
double read_rope_theta(const nlohmann::json& entry, const std::string& where,
                       const std::string& label, double theta);

}  // namespace embedtune
