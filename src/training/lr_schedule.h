// Learning-rate schedules and step counting, exactly as transformers 5.24's get_scheduler lambdas,
// TrainingArguments.get_warmup_steps and Trainer.set_initial_training_values.
#pragma once

#include <cstdint>
#include <string>

namespace embedtune {

enum class SchedulerType { kLinear, kCosine, kConstant, kConstantWithWarmup };

// "linear" | "cosine" | "constant" | "constant_with_warmup" (transformers' SchedulerType values).
// Throws embedtune::Error naming the value and listing the valid names otherwise.
SchedulerType parse_scheduler(const std::string& name);
std::string scheduler_name(SchedulerType type);

// The LR multiplier transformers' LambdaLR applies at optimizer step `step` (0-based: the first
// update uses step 0, so with warm-up it runs at LR 0, as in transformers):
//   warm-up (step < warmup_steps, all but kConstant): step / max(1, warmup_steps)
//   kLinear: max(0, (total - step) / max(1, total - warmup))
//   kCosine: max(0, 0.5 * (1 + cos(pi * progress))), progress = (step - warmup) / max(1, total -
//   warmup) kConstant: 1 (ignores warm-up, as get_constant_schedule); kConstantWithWarmup: 1 after
//   warm-up.
double lr_multiplier(SchedulerType type, int64_t step, int64_t warmup_steps, int64_t total_steps);

// Warm-up steps as sentence-transformers' TrainingArguments + transformers 5's get_warmup_steps:
// warmup_steps > 0 wins; otherwise warmup_ratio (0 when unset) is the value, and a value >= 1 is a
// step count (int), a value < 1 a ratio: ceil(total_steps * ratio) in double arithmetic, as Python.
// Throws embedtune::Error for a negative value.
int64_t warmup_steps_for(double warmup_ratio, int64_t warmup_steps, int64_t total_steps);

struct StepPlan {
  int64_t micro_batches_per_epoch;  // len(train_dataloader): the trainer's steps_in_epoch
  int64_t steps_per_epoch;          // optimizer steps per epoch: ceil(micro / accumulation), >= 1
  int64_t total_steps;  // max_steps: ceil(num_train_epochs * steps_per_epoch), or max_steps
  int64_t num_epochs;   // epochs the loop starts: ceil(num_train_epochs), or enough for max_steps
};

// As transformers' Trainer.set_initial_training_values (a DataLoader with a length). Each epoch's
// last accumulation group holds micro % accumulation batches when that is not 0 (and training stops
// after total_steps updates, possibly mid-epoch). max_steps > 0 overrides num_train_epochs.
// Throws embedtune::Error when micro_batches_per_epoch < 1 (dataset smaller than one batch with
// drop_last), gradient_accumulation_steps < 1, or the plan has no step (epochs <= 0 and no
// max_steps).
StepPlan plan_steps(int64_t micro_batches_per_epoch, int64_t gradient_accumulation_steps,
                    double num_train_epochs, int64_t max_steps);

}  // namespace embedtune
