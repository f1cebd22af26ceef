// Who this process is in a multi-process launch: torchrun's (or any env:// launcher's)
// environment variables, or Slurm's srun variables, read as PyTorch and Lightning read them.
// Plain C++: no LibTorch, so it is tested and fuzzed alone.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace embedtune::distributed {

struct LaunchInfo {
  int rank = 0;             // RANK / SLURM_PROCID
  int world_size = 1;       // WORLD_SIZE / SLURM_STEP_NUM_TASKS
  int local_rank = 0;       // LOCAL_RANK / SLURM_LOCALID: picks the GPU
  std::string master_addr;  // the TCPStore's host
  int master_port = 0;      // and port
  // torchrun's agent already hosts the store at MASTER_ADDR:MASTER_PORT
  // (TORCHELASTIC_USE_AGENT_STORE=True): every rank is a client, under the key prefix
  // "/worker/attempt_<restart_count>", as torch.distributed.rendezvous._create_c10d_store.
  bool agent_store = false;
  int restart_count = 0;  // TORCHELASTIC_RESTART_COUNT
  std::string launcher;   // "torchrun" (or env://) or "slurm", for messages
};

// Reads the launch from the environment (`get` is getenv, replaceable in tests):
// - WORLD_SIZE and RANK set (torchrun, torch.distributed.launch, or set by hand): LOCAL_RANK
//   (default 0), MASTER_ADDR and MASTER_PORT (required when WORLD_SIZE > 1);
// - else SLURM_PROCID with SLURM_STEP_NUM_TASKS (set by srun, not by sbatch alone): RANK =
//   SLURM_PROCID, LOCAL_RANK = SLURM_LOCALID, MASTER_ADDR = MASTER_ADDR or the first host of
//   SLURM_STEP_NODELIST / SLURM_NODELIST ("node[5-9,12]" gives "node5"), MASTER_PORT = MASTER_PORT
//   or 15000 + the last 4 digits of SLURM_JOB_ID (as Lightning's SLURMEnvironment).
// Returns nullopt when neither is set or the world has one process: a plain single-process run.
// Throws Error naming the variable when a value is not a number, a rank is out of range, or the
// store's address is missing.
std::optional<LaunchInfo> launch_from_environment(
    const std::function<const char*(const char*)>& get = nullptr);

// The first host name of a Slurm node list: "a,b" -> "a", "node[05-09,12]" -> "node05",
// "gpu-[1,3]-x" -> "gpu-1-x". Throws Error on an unbalanced bracket.
std::string first_slurm_host(const std::string& nodelist);

}  // namespace embedtune::distributed
