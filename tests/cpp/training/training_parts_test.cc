// Parity of the training building blocks with the Python stack, against
// tests/python/oracle_training_parts.py: batch samplers (sentence-transformers 6.2 trainer's
// DataLoader), LR schedules and step plans (transformers 5.24), AdamW(fused) and clip_grad_norm_
// (torch 2.13); plus hand cases and the one-line errors for bad settings.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "test_support.h"
#include "training/adamw.h"
#include "training/batch_sampler.h"
#include "training/lr_schedule.h"

namespace embedtune {
namespace {
namespace fs = std::filesystem;
using testing::error_of;
fs::path oracle_dir() { return testing::testdata_dir("training_parts", "clip.safetensors"); }

// Every F32 / F64 tensor of a safetensors file, by name, with its own dtype.
std::map<std::string, at::Tensor> read_tensors(const fs::path& path) {
  const auto file = io::SafetensorsFile::open(path);
  std::map<std::string, at::Tensor> out;
  for (const auto& info : file.tensors()) {
    const at::ScalarType type = info.dtype == io::DType::F64 ? at::kDouble : at::kFloat;
    if (info.dtype != io::DType::F32 && info.dtype != io::DType::F64) {
      throw std::runtime_error(path.string() + ": " + info.name + " is neither F32 nor F64");
    }
    at::Tensor t = at::empty(info.shape, type);
    const auto bytes = file.data(info);
    std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
    out.emplace(info.name, t);
  }
  return out;
}

// ------------------------------------------------------------------ samplers

TEST(BatchSamplerParity, SameBatchesAsSentenceTransformersTrainer) {
  const nlohmann::json data = io::read_json_file(oracle_dir() / "samplers.json");
  int cases = 0;
  for (const auto& c : data["cases"]) {
    const auto rows = data["datasets"][c["dataset"].get<std::string>()]
                          .get<std::vector<std::vector<std::string>>>();
    const auto sampler =
        make_batch_sampler(c["kind"], rows, c["batch_size"], c["drop_last"], c["seed"]);
    const std::string label = c["dataset"].get<std::string>() + " " + c["kind"].get<std::string>() +
                              " bs " + std::to_string(c["batch_size"].get<int>()) + " drop_last " +
                              std::to_string(c["drop_last"].get<bool>()) + " seed " +
                              std::to_string(c["seed"].get<int>());
    EXPECT_EQ(sampler->num_batches(), c["num_batches"].get<int64_t>()) << label;
    for (size_t epoch = 0; epoch < c["epochs"].size(); ++epoch) {
      const auto expected = c["epochs"][epoch].get<std::vector<std::vector<int64_t>>>();
      EXPECT_EQ(sampler->batches(static_cast<int64_t>(epoch)), expected)
          << label << " epoch " << epoch;
    }
    ++cases;
  }
  EXPECT_EQ(cases, 18);
}

TEST(BatchSampler, NoDuplicatesKeepsValuesUniqueWithinABatch) {
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < 40; ++i)
    rows.push_back({"q" + std::to_string(i % 13), "a" + std::to_string(i), "shared"});
  rows[5][2] = "q3";
  const auto sampler = make_batch_sampler("no_duplicates", rows, 4, false, 1);
  std::vector<int> seen(rows.size(), 0);
  for (const auto& batch : sampler->batches(0)) {
    std::set<std::string> values;
    size_t count = 0;
    for (int64_t i : batch) {
      ++seen[i];
      std::set<std::string> own(rows[i].begin(), rows[i].end());
      for (const auto& v : own) {
        values.insert(v);
        ++count;
      }
    }
    EXPECT_EQ(values.size(), count);
  }
  for (int s : seen) EXPECT_EQ(s, 1);  // without drop_last every row appears exactly once
}

// ------------------------------------------------------------------ schedules and step plans

TEST(LrScheduleParity, EveryStepAndThePlanMatchTransformers) {
  const nlohmann::json data = io::read_json_file(oracle_dir() / "schedules.json");
  double worst = 0.0;
  for (const auto& c : data["cases"]) {
    const std::string label = c.dump().substr(0, 160);
    const StepPlan plan =
        plan_steps(c["micro_batches"], c["accumulation"], c["epochs"], c["max_steps"]);
    EXPECT_EQ(plan.micro_batches_per_epoch, c["plan"]["micro_batches_per_epoch"].get<int64_t>())
        << label;
    EXPECT_EQ(plan.steps_per_epoch, c["plan"]["steps_per_epoch"].get<int64_t>()) << label;
    EXPECT_EQ(plan.total_steps, c["plan"]["total_steps"].get<int64_t>()) << label;
    EXPECT_EQ(plan.num_epochs, c["plan"]["num_epochs"].get<int64_t>()) << label;
    const int64_t warmup = warmup_steps_for(c["warmup_ratio"], c["warmup_steps"], plan.total_steps);
    EXPECT_EQ(warmup, c["num_warmup_steps"].get<int64_t>()) << label;
    const SchedulerType type = parse_scheduler(c["scheduler"]);
    const auto lrs = c["lrs"].get<std::vector<double>>();
    ASSERT_EQ(static_cast<int64_t>(lrs.size()), plan.total_steps) << label;
    for (size_t step = 0; step < lrs.size(); ++step) {
      const double ours = lr_multiplier(type, static_cast<int64_t>(step), warmup, plan.total_steps);
      worst = std::max(worst, std::abs(ours - lrs[step]));
      EXPECT_EQ(ours, lrs[step]) << label << " step " << step;  // same double arithmetic: exact
    }
  }
  std::cout << "LR schedules: " << data["cases"].size() << " cases, max |diff| " << worst << "\n";
}

TEST(LrSchedule, HandComputedValues) {
  // linear: warm-up 0/2, 1/2, then (10 - s) / 8.
  EXPECT_DOUBLE_EQ(lr_multiplier(SchedulerType::kLinear, 0, 2, 10), 0.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(SchedulerType::kLinear, 1, 2, 10), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(SchedulerType::kLinear, 6, 2, 10), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(SchedulerType::kCosine, 6, 2, 10),
                   0.5);  // half-way down the half cosine
  EXPECT_DOUBLE_EQ(lr_multiplier(SchedulerType::kCosine, 10, 2, 10), 0.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(SchedulerType::kConstant, 0, 5, 10), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(SchedulerType::kConstantWithWarmup, 1, 4, 10), 0.25);
  EXPECT_EQ(warmup_steps_for(0.1, 0, 100), 10);
  EXPECT_EQ(warmup_steps_for(0.1, 3, 100), 3);  // explicit steps win over the ratio
  EXPECT_EQ(warmup_steps_for(0.0, 0, 100), 0);
  const StepPlan plan = plan_steps(37, 4, 3.0, -1);  // 9 full groups + 1 short one per epoch
  EXPECT_EQ(plan.steps_per_epoch, 10);
  EXPECT_EQ(plan.total_steps, 30);
}

TEST(TrainingSettings, BadValuesGiveOneLineErrors) {
  auto check = [](const std::function<void()>& f, const std::string& needle) {
    const std::string message = error_of(f);
    EXPECT_NE(message.find(needle), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  };
  check([] { parse_scheduler("cosine_with_restarts"); },
        "expected one of linear, cosine, constant, constant_with_warmup; found "
        "'cosine_with_restarts'");
  check([] { make_batch_sampler("group_by_label", {}, 4, false, 0); }, "found 'group_by_label'");
  check([] { make_batch_sampler("no_duplicates", {}, 0, false, 0); }, "batch size >= 1, found 0");
  check([] { plan_steps(0, 1, 1.0, -1); }, "no batch in an epoch");
  check([] { plan_steps(10, 0, 1.0, -1); }, "gradient_accumulation_steps");
  check([] { plan_steps(10, 1, 0.0, -1); }, "num_train_epochs");
  check([] { warmup_steps_for(-0.1, 0, 10); }, "warmup_ratio");
  check([] { AdamW({at::zeros({2})}, 1.5); }, "betas");
  check([] { AdamW({at::zeros({2})}, 0.9, 0.999, 1e-8, 0.0, {true, false}); }, "decay mask");
}

// ------------------------------------------------------------------ AdamW and clipping

struct AdamWOracle {
  std::map<std::string, at::Tensor> t;
  std::vector<double> lrs;
  std::vector<bool> decay;
  size_t num_params = 0;
};

AdamWOracle load_adamw() {
  AdamWOracle o;
  o.t = read_tensors(oracle_dir() / "adamw.safetensors");
  const at::Tensor lrs = o.t.at("lrs");
  for (int64_t i = 0; i < lrs.numel(); ++i) o.lrs.push_back(lrs[i].item<double>());
  const at::Tensor decay = o.t.at("decay");
  for (int64_t i = 0; i < decay.numel(); ++i) o.decay.push_back(decay[i].item<float>() != 0.f);
  o.num_params = o.decay.size();
  return o;
}

// Runs steps [first, last) of the oracle's sequence on `params` with `optimizer`.
void run_steps(const AdamWOracle& o, std::vector<at::Tensor>& params, AdamW& optimizer,
               size_t first, size_t last) {
  for (size_t step = first; step < last; ++step) {
    for (size_t i = 0; i < params.size(); ++i) {
      const auto it = o.t.find("grad." + std::to_string(step) + "." + std::to_string(i));
      params[i].mutable_grad() = it == o.t.end() ? at::Tensor() : it->second.clone();
    }
    optimizer.step(o.lrs[step]);
    optimizer.zero_grad();
  }
}

std::vector<at::Tensor> initial_params(const AdamWOracle& o) {
  std::vector<at::Tensor> params;
  for (size_t i = 0; i < o.num_params; ++i) {
    params.push_back(o.t.at("init." + std::to_string(i)).clone().requires_grad_(true));
  }
  return params;
}

TEST(AdamWParity, FiveStepsMatchTorchFusedAdamW) {
  const AdamWOracle o = load_adamw();
  std::vector<at::Tensor> params = initial_params(o);
  AdamW optimizer(params, 0.9, 0.999, 1e-8, 0.01, o.decay);
  double worst = 0.0;
  for (size_t step = 0; step < o.lrs.size(); ++step) {
    run_steps(o, params, optimizer, step, step + 1);
    for (size_t i = 0; i < params.size(); ++i) {
      const at::Tensor& want = o.t.at("param." + std::to_string(step) + "." + std::to_string(i));
      const double diff = (params[i].detach() - want).abs().max().item<double>();
      worst = std::max(worst, diff);
      EXPECT_LT(diff, 1e-6) << "step " << step << " param " << i;
    }
  }
  for (const auto& [name, tensor] : optimizer.state()) {
    const double diff = (tensor - o.t.at(name)).abs().max().item<double>();
    EXPECT_LT(diff, 1e-6) << name;
    worst = std::max(worst, diff);
  }
  std::cout << "AdamW: max |diff| over params after each step and the final state: " << worst
            << "\n";
}

TEST(AdamWParity, StateRoundTripContinuesIdentically) {
  const AdamWOracle o = load_adamw();
  std::vector<at::Tensor> params = initial_params(o);
  AdamW first(params, 0.9, 0.999, 1e-8, 0.01, o.decay);
  run_steps(o, params, first, 0, 3);
  // A fresh optimizer over copies of the params, restored from a deep copy of the state.
  std::vector<std::pair<std::string, at::Tensor>> saved;
  for (const auto& [name, tensor] : first.state()) saved.emplace_back(name, tensor.clone());
  std::vector<at::Tensor> resumed;
  for (const auto& p : params) resumed.push_back(p.detach().clone().requires_grad_(true));
  AdamW second(resumed, 0.9, 0.999, 1e-8, 0.01, o.decay);
  second.load_state(saved);
  run_steps(o, params, first, 3, 5);
  run_steps(o, resumed, second, 3, 5);
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(at::equal(params[i].detach(), resumed[i].detach())) << i;
    EXPECT_LT(
        (resumed[i].detach() - o.t.at("param.4." + std::to_string(i))).abs().max().item<double>(),
        1e-6);
  }
  // A state for other shapes is refused with the entry named.
  const at::Tensor kept = saved[0].second;
  saved[0].second = at::zeros({7});
  EXPECT_NE(error_of([&] { second.load_state(saved); }).find("'exp_avg.0' has shape [7]"),
            std::string::npos);
  saved[0].second = kept;
  saved.pop_back();
  EXPECT_NE(error_of([&] { second.load_state(saved); }).find("is missing"), std::string::npos);
}

TEST(ClipGradNormParity, TotalNormAndClippedGradsMatchTorch) {
  const auto t = read_tensors(oracle_dir() / "clip.safetensors");
  for (int c = 0; c < 2; ++c) {
    const std::string prefix = "case" + std::to_string(c) + ".";
    std::vector<at::Tensor> params;
    for (int i = 0; t.count(prefix + "grad_in." + std::to_string(i)); ++i) {
      const at::Tensor g = t.at(prefix + "grad_in." + std::to_string(i));
      params.push_back(at::zeros_like(g).requires_grad_(true));
      params.back().mutable_grad() = g.clone();
    }
    const at::Tensor total = clip_grad_norm(params, t.at(prefix + "max_norm").item<double>());
    const double norm_diff =
        std::abs(total.item<double>() - t.at(prefix + "total_norm").item<double>());
    EXPECT_LT(norm_diff, 1e-6);
    double worst = 0.0;
    for (size_t i = 0; i < params.size(); ++i) {
      worst = std::max(worst, (params[i].grad() - t.at(prefix + "grad_out." + std::to_string(i)))
                                  .abs()
                                  .max()
                                  .item<double>());
    }
    EXPECT_LT(worst, 1e-7);
    std::cout << "clip case " << c << ": total norm " << total.item<double>() << ", |diff| "
              << norm_diff << ", max |grad diff| " << worst << "\n";
  }
}

TEST(DecayMask, BiasAndLayerNormParametersDoNotDecay) {
  struct Net : torch::nn::Module {
    Net() {
      register_module("dense", torch::nn::Linear(3, 3));
      register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({3})));
      register_module("ln_f",
                      torch::nn::LayerNorm(torch::nn::LayerNormOptions({3})));  // by type, not name
      register_parameter("final_norm_scale", at::ones({3}));
      register_parameter("norm", at::ones({3}));
    }
  } net;
  std::vector<std::string> names;
  for (const auto& item : net.named_parameters()) names.push_back(item.key());
  const std::vector<bool> mask = decay_mask(net);
  ASSERT_EQ(mask.size(), names.size());
  std::map<std::string, bool> by_name;
  for (size_t i = 0; i < names.size(); ++i) by_name[names[i]] = mask[i];
  EXPECT_TRUE(by_name.at("dense.weight"));
  EXPECT_FALSE(by_name.at("dense.bias"));
  EXPECT_FALSE(by_name.at("LayerNorm.weight"));
  EXPECT_FALSE(by_name.at("LayerNorm.bias"));
  EXPECT_FALSE(by_name.at("ln_f.weight"));
  EXPECT_TRUE(by_name.at("final_norm_scale"));  // "_norm" must be followed by "." or the end
  EXPECT_FALSE(by_name.at("norm"));
}

}  // namespace
}  // namespace embedtune
