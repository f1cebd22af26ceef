// Tests of reading the launch variables: torchrun's, Slurm's, and the errors for bad values.
// Hand-written environments; the values torchrun sets are those its docs and
// torch/distributed/run.py list (../shared/reference/distributed.md).
#include "distributed/launch.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "io/error.h"
#include "test_support.h"

namespace embedtune::distributed {
namespace {
using testing::error_of;

std::optional<LaunchInfo> launch(const std::map<std::string, std::string>& env) {
  return launch_from_environment([&](const char* name) -> const char* {
    const auto found = env.find(name);
    return found == env.end() ? nullptr : found->second.c_str();
  });
}

TEST(Launch, NoVariablesIsASingleProcess) {
  EXPECT_FALSE(launch({}).has_value());
  EXPECT_FALSE(launch({{"WORLD_SIZE", "1"}, {"RANK", "0"}}).has_value());
  // sbatch alone sets SLURM_PROCID and SLURM_NTASKS but no step: not a launch.
  EXPECT_FALSE(launch({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}).has_value());
}

TEST(Launch, TorchrunWithItsAgentStore) {
  const auto info = launch({{"WORLD_SIZE", "4"},
                            {"RANK", "3"},
                            {"LOCAL_RANK", "1"},
                            {"MASTER_ADDR", "node7"},
                            {"MASTER_PORT", "29400"},
                            {"TORCHELASTIC_RUN_ID", "none"},
                            {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                            {"TORCHELASTIC_RESTART_COUNT", "2"}});
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->rank, 3);
  EXPECT_EQ(info->world_size, 4);
  EXPECT_EQ(info->local_rank, 1);
  EXPECT_EQ(info->master_addr, "node7");
  EXPECT_EQ(info->master_port, 29400);
  EXPECT_TRUE(info->agent_store);
  EXPECT_EQ(info->restart_count, 2);
  EXPECT_EQ(info->launcher, "torchrun");
}

TEST(Launch, HandSetEnvironmentHostsItsOwnStore) {
  const auto info = launch({{"WORLD_SIZE", "2"},
                            {"RANK", "0"},
                            {"MASTER_ADDR", "127.0.0.1"},
                            {"MASTER_PORT", "1234"},
                            {"TORCHELASTIC_USE_AGENT_STORE", "False"}});
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->agent_store);
  EXPECT_EQ(info->launcher, "env://");
  EXPECT_EQ(info->local_rank, 0);
}

TEST(Launch, SlurmStepWithLightningsDefaults) {
  const auto info = launch({{"SLURM_PROCID", "5"},
                            {"SLURM_STEP_NUM_TASKS", "8"},
                            {"SLURM_LOCALID", "1"},
                            {"SLURM_STEP_NODELIST", "gpu[03-04,9]"},
                            {"SLURM_JOB_ID", "1234567"}});
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->rank, 5);
  EXPECT_EQ(info->world_size, 8);
  EXPECT_EQ(info->local_rank, 1);
  EXPECT_EQ(info->master_addr, "gpu03");
  EXPECT_EQ(info->master_port, 15000 + 4567);
  EXPECT_EQ(info->launcher, "slurm");
  // MASTER_ADDR and MASTER_PORT, when set, win.
  const auto set = launch({{"SLURM_PROCID", "0"},
                           {"SLURM_STEP_NUM_TASKS", "2"},
                           {"SLURM_NODELIST", "a,b"},
                           {"MASTER_ADDR", "head"},
                           {"MASTER_PORT", "2000"}});
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ(set->master_addr, "head");
  EXPECT_EQ(set->master_port, 2000);
}

TEST(Launch, FirstSlurmHost) {
  EXPECT_EQ(first_slurm_host("a,b"), "a");
  EXPECT_EQ(first_slurm_host("node[05-09,12]"), "node05");
  EXPECT_EQ(first_slurm_host("gpu-[1,3]-x,cpu1"), "gpu-1-x");
  EXPECT_EQ(first_slurm_host("single"), "single");
  EXPECT_NE(error_of([] { first_slurm_host("node[1-2"); }).find("balanced"), std::string::npos);
}

TEST(Launch, BadValuesNameTheVariable) {
  const std::string rank = error_of([] {
    launch({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}});
  });
  EXPECT_NE(rank.find("RANK"), std::string::npos) << rank;
  EXPECT_NE(rank.find("[0, 1]"), std::string::npos) << rank;
  const std::string size = error_of([] { launch({{"WORLD_SIZE", "two"}, {"RANK", "0"}}); });
  EXPECT_NE(size.find("WORLD_SIZE"), std::string::npos) << size;
  const std::string addr = error_of([] { launch({{"WORLD_SIZE", "2"}, {"RANK", "1"}}); });
  EXPECT_NE(addr.find("MASTER_ADDR"), std::string::npos) << addr;
  const std::string port =
      error_of([] { launch({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_ADDR", "h"}}); });
  EXPECT_NE(port.find("MASTER_PORT"), std::string::npos) << port;
  const std::string bad_port = error_of([] {
    launch({{"WORLD_SIZE", "2"}, {"RANK", "1"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}});
  });
  EXPECT_NE(bad_port.find("MASTER_PORT"), std::string::npos) << bad_port;
}

}  // namespace
}  // namespace embedtune::distributed
