// read_rope_theta: the default rotary embedding's one parameter.
#include "model/architectures/config_keys.h"

namespace embedtune {

void expect_positive(const std::string& where,
                     std::initializer_list<std::pair<const char*, int64_t>> sizes) {
  for (const auto& [key, value] : sizes) {
    if (value <= 0) fail("{}: key '{}' must be positive, found {}", where, key, value);
  }
}

void expect_activation(const nlohmann::json& json, const std::string& where, const char* key,
                       const char* expected, const char* what) {
  std::string activation = expected;
  read_config_key(json, where, key, activation);
  if (activation != expected) {
    fail("{}: {} '{}' is not supported; expected \"{}\" ({})", where, key, activation, expected,
         what);
  }
}

void refuse_rope_scaling(const nlohmann::json& json, const std::string& where) {
  if (json.contains("rope_scaling") && !json["rope_scaling"].is_null()) {
    fail("{}: rope_scaling is not supported; embedtune runs the default rotary embedding", where);
  }
}

double read_rope_theta(const nlohmann::json& entry, const std::string& where,
                       const std::string& label, double theta) {
  if (!entry.is_object()) fail("{}: {} must be an object, found {}", where, label, entry.dump());
  std::string type = "default";
  read_config_key(entry, where, "rope_type", type);
  if (type != "default") {
    fail("{}: {}.rope_type '{}' is not supported; embedtune runs the \"default\" rotary embedding",
         where, label, type);
  }
  read_config_key(entry, where, "rope_theta", theta);
  if (!(theta > 0)) fail("{}: {}.rope_theta must be positive, found {}", where, label, theta);
  return theta;
}

}  // namespace embedtune
