// transformers' schedule lambdas (optimization.py), warm-up step count and the Trainer's step plan.
#include "training/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "io/error.h"

namespace embedtune {

SchedulerType parse_scheduler(const std::string& name) {
  if (name == "linear") return SchedulerType::kLinear;
  if (name == "cosine") return SchedulerType::kCosine;
  if (name == "constant") return SchedulerType::kConstant;
  if (name == "constant_with_warmup") return SchedulerType::kConstantWithWarmup;
  fail(
      "lr_scheduler_type: expected one of linear, cosine, constant, constant_with_warmup; found "
      "'{}'",
      name);
}

std::string scheduler_name(SchedulerType type) {
  switch (type) {
    case SchedulerType::kLinear:
      return "linear";
    case SchedulerType::kCosine:
      return "cosine";
    case SchedulerType::kConstant:
      return "constant";
    case SchedulerType::kConstantWithWarmup:
      return "constant_with_warmup";
  }
  return "linear";
}

double lr_multiplier(SchedulerType type, int64_t step, int64_t warmup_steps, int64_t total_steps) {
  if (type == SchedulerType::kConstant) return 1.0;  // _get_constant_lambda
  if (step < warmup_steps) {
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  }
  const double decay_span = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  switch (type) {
    case SchedulerType::kLinear:  // _get_linear_schedule_with_warmup_lr_lambda
      return std::max(0.0, static_cast<double>(total_steps - step) / decay_span);
    case SchedulerType::kCosine: {  // _get_cosine_schedule_with_warmup_lr_lambda, num_cycles 0.5
      const double progress = static_cast<double>(step - warmup_steps) / decay_span;
      return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * 0.5 * 2.0 * progress)));
    }
    case SchedulerType::kConstantWithWarmup:
    case SchedulerType::kConstant:
      return 1.0;
  }
  return 1.0;
}

int64_t warmup_steps_for(double warmup_ratio, int64_t warmup_steps, int64_t total_steps) {
  if (warmup_steps < 0 || warmup_ratio < 0) {
    fail(
        "warmup: expected warmup_steps >= 0 and warmup_ratio >= 0, found warmup_steps {} and "
        "warmup_ratio {}",
        warmup_steps, warmup_ratio);
  }
  // SentenceTransformerTrainingArguments.__post_init__ moves warmup_ratio into warmup_steps only
  // when warmup_steps is 0; TrainingArguments.get_warmup_steps then reads it.
  const double value = warmup_steps > 0 ? static_cast<double>(warmup_steps) : warmup_ratio;
  if (value >= 1.0) return static_cast<int64_t>(value);
  return static_cast<int64_t>(std::ceil(static_cast<double>(total_steps) * value));
}

StepPlan plan_steps(int64_t micro_batches_per_epoch, int64_t gradient_accumulation_steps,
                    double num_train_epochs, int64_t max_steps) {
  if (micro_batches_per_epoch < 1) {
    fail(
        "training data: no batch in an epoch ({} micro-batches); use more rows than "
        "per_device_train_batch_size, or dataloader_drop_last false",
        micro_batches_per_epoch);
  }
  if (gradient_accumulation_steps < 1) {
    fail("gradient_accumulation_steps: expected >= 1, found {}", gradient_accumulation_steps);
  }
  StepPlan plan{};
  plan.micro_batches_per_epoch = micro_batches_per_epoch;
  plan.steps_per_epoch =
      std::max<int64_t>(micro_batches_per_epoch / gradient_accumulation_steps +
                            (micro_batches_per_epoch % gradient_accumulation_steps > 0 ? 1 : 0),
                        1);
  if (max_steps > 0) {
    plan.total_steps = max_steps;
    plan.num_epochs =
        max_steps / plan.steps_per_epoch + (max_steps % plan.steps_per_epoch > 0 ? 1 : 0);
  } else {
    plan.total_steps = static_cast<int64_t>(
        std::ceil(num_train_epochs * static_cast<double>(plan.steps_per_epoch)));
    plan.num_epochs = static_cast<int64_t>(std::ceil(num_train_epochs));
  }
  if (plan.total_steps < 1) {
    fail(
        "num_train_epochs: expected > 0 (or max_steps > 0), found num_train_epochs {} and "
        "max_steps {}",
        num_train_epochs, max_steps);
  }
  return plan;
}

}  // namespace embedtune
