#include "training/step_profiler.h"

#include <fmt/format.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/cuda.h>

#include <cstdlib>
#include <exception>
#include <regex>
#include <set>
#include <string>
#include <system_error>

#include "io/atomic_file.h"
#include "io/error.h"

namespace embedtune::training {
namespace {

namespace kineto = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

// "A-B" (or "A"): the optimizer steps to record, from 1.
std::pair<int64_t, int64_t> parse_steps(const std::string& text) {
  static const std::regex range(R"(^\s*([0-9]{1,9})\s*(?:-\s*([0-9]{1,9})\s*)?$)");
  std::smatch match;
  if (std::regex_match(text, match, range)) {
    const int64_t first = std::stoll(match[1].str());
    const int64_t last = match[2].matched ? std::stoll(match[2].str()) : first;
    if (first >= 1 && last >= first) return {first, last};
  }
  fail(
      "EMBEDTUNE_PROFILE_STEPS: expected the optimizer steps to record as FIRST-LAST (from 1, "
      "e.g. 11-15) or one step, found '{}'; set it so or unset it for 11-15",
      text);
}

ProfilerConfig config() { return ProfilerConfig(ProfilerState::KINETO); }

}  // namespace

StepProfiler::StepProfiler(c10::Device device, bool record) : device_(device) {
  const char* path = std::getenv("EMBEDTUNE_PROFILE");
  if (!record || path == nullptr || *path == '\0') return;
  const char* steps = std::getenv("EMBEDTUNE_PROFILE_STEPS");
  std::tie(first_, last_) =
      parse_steps(steps != nullptr && *steps != '\0' ? std::string(steps) : "11-15");
  io::check_output_file(path, "EMBEDTUNE_PROFILE");
  path_ = path;
}

StepProfiler::~StepProfiler() {
  if (recording_) {
    stop();
  } else if (!path_.empty() && recorded_first_ == 0) {
    fmt::print(stderr, "train: EMBEDTUNE_PROFILE: no step in {}-{} ran; {} not written\n", first_,
               last_, path_.string());
  }
}

void StepProfiler::begin_step(int64_t step) {
  if (!recording_) {
    if (path_.empty() || recorded_first_ != 0 || step < first_ || step > last_) return;
    try {
      const std::set<ActivityType> activities =
          device_.is_cuda() ? std::set<ActivityType>{ActivityType::CPU, ActivityType::CUDA}
                            : std::set<ActivityType>{ActivityType::CPU};
      if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
      kineto::prepareProfiler(config(), activities);
      kineto::enableProfiler(config(), activities);
    } catch (const std::exception& error) {
      fmt::print(stderr,
                 "train: EMBEDTUNE_PROFILE: the profiler could not start ({}); training goes on "
                 "without it\n",
                 Error::one_line(error.what()));
      path_.clear();
      return;
    }
    recording_ = true;
    recorded_first_ = step;
  }
  recorded_last_ = step;  // so far: a step that fails midway is in the trace too
  // A span per step, named as torch.profiler's schedule names them.
  step_span_ = std::make_unique<at::RecordFunction>(at::RecordScope::USER_SCOPE);
  if (step_span_->isActive()) step_span_->before(fmt::format("ProfilerStep#{}", step));
}

void StepProfiler::end_step(int64_t step) {
  if (!recording_) return;
  step_span_.reset();  // ends the span
  if (step >= last_) stop();
}

void StepProfiler::stop() noexcept {
  step_span_.reset();
  recording_ = false;
  const std::filesystem::path temp = io::staging_path(path_, "tmp");
  try {
    // The steps' kernels finish before the profiler stops, so that each one is in the trace.
    if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
    const std::unique_ptr<kineto::ProfilerResult> result = kineto::disableProfiler();
    result->save(temp.string());
    std::filesystem::rename(temp, path_);
    fmt::print(stderr, "train: profiled steps {}-{} ({} events) into {}\n", recorded_first_,
               recorded_last_, result->events().size(), path_.string());
  } catch (const std::exception& error) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    fmt::print(stderr, "train: EMBEDTUNE_PROFILE: {} not written: {}\n", path_.string(),
               Error::one_line(error.what()));
  }
}

}  // namespace embedtune::training
