// read_rope_theta: the default rotary embedding's one parameter.
#include "model/architectures/config_keys.h"

namespace embedtune {

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
