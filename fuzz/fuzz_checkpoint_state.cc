// Fuzz target: training::read_checkpoint_state on a checkpoint's JSON files (trainer_state.json,
// rng_state.json, scheduler.json, resume.json), cut from one input at fuzz::kFileSeparator (a
// missing part is an empty file). The tensors of a checkpoint are safetensors files, fuzzed by
// fuzz_safetensors; the manifest is checked before these files are read.
#include "fuzz_support.h"
#include "training/checkpoint_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace embedtune;
  const auto parts = fuzz::split_input(fuzz::as_text(data, size), 4);
  const char* names[] = {"trainer_state.json", "rng_state.json", "scheduler.json", "resume.json"};
  std::filesystem::path dir;
  for (size_t i = 0; i < 4; ++i) {
    const auto path = fuzz::write_input(std::string("checkpoint-1/") + names[i],
                                        i < parts.size() ? parts[i] : std::string_view());
    dir = path.parent_path();
  }
  fuzz::run_reader(
      [&] {
        const training::CheckpointState state = training::read_checkpoint_state(dir);
        fuzz::require(state.resume.is_object(), "resume.json is an object");
        fuzz::require(state.rng.epoch >= 0 && state.rng.micro_batch >= 0,
                      "the sampler position is not negative");
        // What was read writes back and reads again to the same state.
        const nlohmann::json again =
            training::RngStateFile::from_json(state.rng.to_json(), "x").to_json();
        fuzz::require(again == state.rng.to_json(), "rng_state.json round-trips");
        const nlohmann::json trainer = state.state.to_json();
        fuzz::require(training::TrainerState::from_json(trainer, "x").to_json() == trainer,
                      "trainer_state.json round-trips");
      },
      {dir});
  return 0;
}
