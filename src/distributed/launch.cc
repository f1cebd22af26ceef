// Reading torchrun's and Slurm's launch variables.
#include "distributed/launch.h"

#include <cstdlib>
#include <string_view>

#include "io/error.h"

namespace embedtune::distributed {
namespace {

int parse_int(const char* name, const char* value, int min, int max) {
  const std::string text = value;
  size_t used = 0;
  long long parsed = 0;
  try {
    parsed = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || parsed < min || parsed > max) {
    fail(
        "environment: {}: expected an integer in [{}, {}], found '{}'; fix the launcher's "
        "settings or unset it",
        name, min, max, text);
  }
  return static_cast<int>(parsed);
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry ends at a comma outside brackets.
  std::string entry;
  int depth = 0;
  for (char c : nodelist) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth < 0) break;
    if (c == ',' && depth == 0) break;
    entry += c;
  }
  if (depth != 0)
    fail("environment: SLURM_NODELIST: expected balanced brackets, found '{}'", nodelist);
  // Each bracket range contributes its first value: "[05-09,12]" -> "05".
  std::string host;
  for (size_t i = 0; i < entry.size(); ++i) {
    if (entry[i] != '[') {
      host += entry[i];
      continue;
    }
    const size_t close = entry.find(']', i);
    const std::string range = entry.substr(i + 1, close - i - 1);
    host += range.substr(0, range.find_first_of(",-"));
    i = close;
  }
  return host;
}

std::optional<LaunchInfo> launch_from_environment(
    const std::function<const char*(const char*)>& get_env) {
  auto get = [&](const char* name) -> const char* {
    const char* value = get_env ? get_env(name) : std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
  };
  LaunchInfo info;
  constexpr int kMaxRanks = 1 << 20;
  if (get("WORLD_SIZE") != nullptr && get("RANK") != nullptr) {
    info.launcher = get("TORCHELASTIC_RUN_ID") != nullptr ? "torchrun" : "env://";
    info.world_size = parse_int("WORLD_SIZE", get("WORLD_SIZE"), 1, kMaxRanks);
    info.rank = parse_int("RANK", get("RANK"), 0, info.world_size - 1);
    if (get("LOCAL_RANK") != nullptr)
      info.local_rank = parse_int("LOCAL_RANK", get("LOCAL_RANK"), 0, kMaxRanks);
    const char* agent = get("TORCHELASTIC_USE_AGENT_STORE");
    info.agent_store = agent != nullptr && std::string_view(agent) == "True";
    if (get("TORCHELASTIC_RESTART_COUNT") != nullptr) {
      info.restart_count =
          parse_int("TORCHELASTIC_RESTART_COUNT", get("TORCHELASTIC_RESTART_COUNT"), 0, kMaxRanks);
    }
  } else if (get("SLURM_PROCID") != nullptr && get("SLURM_STEP_NUM_TASKS") != nullptr) {
    info.launcher = "slurm";
    info.world_size = parse_int("SLURM_STEP_NUM_TASKS", get("SLURM_STEP_NUM_TASKS"), 1, kMaxRanks);
    info.rank = parse_int("SLURM_PROCID", get("SLURM_PROCID"), 0, info.world_size - 1);
    if (get("SLURM_LOCALID") != nullptr)
      info.local_rank = parse_int("SLURM_LOCALID", get("SLURM_LOCALID"), 0, kMaxRanks);
  } else {
    return std::nullopt;
  }
  if (info.world_size == 1) return std::nullopt;

  if (get("MASTER_ADDR") != nullptr) {
    info.master_addr = get("MASTER_ADDR");
  } else if (info.launcher == "slurm") {
    const char* nodes = get("SLURM_STEP_NODELIST");
    if (nodes == nullptr) nodes = get("SLURM_NODELIST");
    if (nodes == nullptr) {
      fail(
          "environment: expected MASTER_ADDR or SLURM_NODELIST to find rank 0's host, found "
          "neither; export MASTER_ADDR");
    }
    info.master_addr = first_slurm_host(nodes);
  } else {
    fail(
        "environment: MASTER_ADDR: expected the host of rank 0 with WORLD_SIZE={}, found it "
        "unset; launch with torchrun or export MASTER_ADDR and MASTER_PORT",
        info.world_size);
  }
  if (get("MASTER_PORT") != nullptr) {
    info.master_port = parse_int("MASTER_PORT", get("MASTER_PORT"), 1, 65535);
  } else if (info.launcher == "slurm" && get("SLURM_JOB_ID") != nullptr) {
    const std::string job = get("SLURM_JOB_ID");
    const std::string tail = job.size() > 4 ? job.substr(job.size() - 4) : job;
    info.master_port = 15000 + parse_int("SLURM_JOB_ID", tail.c_str(), 0, 9999);
  } else {
    fail(
        "environment: MASTER_PORT: expected rank 0's store port with WORLD_SIZE={}, found it "
        "unset; launch with torchrun or export MASTER_PORT",
        info.world_size);
  }
  return info;
}

}  // namespace embedtune::distributed
