// AdamW over at::_fused_adamw_, foreach gradient clipping, and transformers' weight-decay split.
#include "training/adamw.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>

#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <tuple>

#include "io/error.h"

namespace embedtune {

AdamW::AdamW(std::vector<at::Tensor> params, double beta1, double beta2, double eps,
             double weight_decay, std::vector<bool> decay)
    : params_(std::move(params)),
      decay_(std::move(decay)),
      beta1_(beta1),
      beta2_(beta2),
      eps_(eps),
      weight_decay_(weight_decay) {
  if (!(beta1 >= 0.0 && beta1 < 1.0) || !(beta2 >= 0.0 && beta2 < 1.0)) {
    fail("adam betas: expected values in [0, 1), found ({}, {})", beta1, beta2);
  }
  if (!(eps >= 0.0)) fail("adam_epsilon: expected >= 0, found {}", eps);
  if (!(weight_decay >= 0.0)) fail("weight_decay: expected >= 0, found {}", weight_decay);
  if (decay_.empty()) decay_.assign(params_.size(), true);
  if (decay_.size() != params_.size()) {
    fail("AdamW: decay mask has {} entries for {} parameters", decay_.size(), params_.size());
  }
  at::NoGradGuard no_grad;
  for (const auto& p : params_) {
    // As torch's _init_group for fused: zeros_like(p, preserve_format), step a float32 scalar on
    // p's device.
    exp_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
    steps_.push_back(at::zeros({}, p.options().dtype(at::kFloat)));
  }
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  // (device, dtype, decays) -> indices, as _group_tensors_by_device_and_dtype within each param
  // group.
  std::map<std::tuple<std::string, int, bool>, std::vector<size_t>> groups;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    groups[{params_[i].device().str(), static_cast<int>(params_[i].scalar_type()), decay_[i]}]
        .push_back(i);
  }
  for (const auto& [key, indices] : groups) {
    std::vector<at::Tensor> p, g, m, v, s;
    for (size_t i : indices) {
      p.push_back(params_[i]);
      g.push_back(params_[i].grad());
      m.push_back(exp_avg_[i]);
      v.push_back(exp_avg_sq_[i]);
      s.push_back(steps_[i]);
    }
    at::_foreach_add_(s, 1);
    at::_fused_adamw_(p, g, m, v, /*max_exp_avg_sqs=*/{}, s, lr, beta1_, beta2_,
                      std::get<2>(key) ? weight_decay_ : 0.0, eps_, /*amsgrad=*/false,
                      /*maximize=*/false);
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(fmt::format("exp_avg.{}", i), exp_avg_[i]);
    out.emplace_back(fmt::format("exp_avg_sq.{}", i), exp_avg_sq_[i]);
    out.emplace_back(fmt::format("step.{}", i), steps_[i]);
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, at::Tensor>>& state) {
  std::map<std::string, at::Tensor> by_name;
  for (const auto& [name, tensor] : state) by_name[name] = tensor;
  at::NoGradGuard no_grad;
  std::set<std::string> used;
  auto copy = [&](const std::string& name, at::Tensor& target) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      fail("optimizer state: entry '{}' is missing; the checkpoint does not belong to this model",
           name);
    }
    if (!it->second.sizes().equals(target.sizes())) {
      fail(
          "optimizer state: entry '{}' has shape [{}], expected [{}]; the checkpoint does not "
          "belong to this model",
          name, fmt::join(it->second.sizes(), ", "), fmt::join(target.sizes(), ", "));
    }
    target.copy_(it->second);
    used.insert(name);
  };
  for (size_t i = 0; i < params_.size(); ++i) {
    copy(fmt::format("exp_avg.{}", i), exp_avg_[i]);
    copy(fmt::format("exp_avg_sq.{}", i), exp_avg_sq_[i]);
    copy(fmt::format("step.{}", i), steps_[i]);
  }
  for (const auto& [name, tensor] : by_name) {
    if (!used.count(name)) {
      fail(
          "optimizer state: unexpected entry '{}' for {} parameters; the checkpoint does not "
          "belong to this model",
          name, params_.size());
    }
  }
}

at::Tensor clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<std::pair<std::string, int>> order;  // groups in first-seen order
  std::map<std::pair<std::string, int>, std::vector<at::Tensor>> groups;
  for (const auto& p : params) {
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    const std::pair<std::string, int> key{g.device().str(), static_cast<int>(g.scalar_type())};
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(g);
  }
  if (order.empty()) return at::Tensor();
  const at::Device first_device = groups[order.front()].front().device();
  std::vector<at::Tensor> norms;
  for (const auto& key : order) {
    for (auto& n : at::_foreach_norm(groups[key], 2)) norms.push_back(n.to(first_device));
  }
  const at::Tensor total = at::linalg_vector_norm(at::stack(norms), 2);
  // Python's `max_norm / (total + 1e-6)` is Tensor.__rdiv__: reciprocal() * max_norm.
  const at::Tensor coef = at::clamp_max(at::reciprocal(total + 1e-6) * max_norm, 1.0);
  for (const auto& key : order) {
    auto& grads = groups[key];
    at::_foreach_mul_(grads, coef.to(grads.front().device()));
  }
  return total;
}

std::vector<bool> decay_mask(const torch::nn::Module& module) {
  // Parameters owned by a LayerNorm module never decay, whatever their name.
  // (named_modules without the root: a module made on the stack cannot hand itself out as a
  // shared_ptr.)
  std::set<const at::TensorImpl*> in_layer_norm;
  auto note = [&](const torch::nn::Module& m) {
    if (m.as<torch::nn::LayerNormImpl>() != nullptr) {
      for (const auto& p : m.parameters()) in_layer_norm.insert(p.unsafeGetTensorImpl());
    }
  };
  note(module);
  for (const auto& item : module.named_modules("", /*include_self=*/false)) note(*item.value());
  static const std::regex forbidden(R"(bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.))");
  std::vector<bool> mask;
  for (const auto& item : module.named_parameters()) {
    std::string lower = item.key();
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    mask.push_back(!in_layer_norm.count(item.value().unsafeGetTensorImpl()) &&
                   !std::regex_search(lower, forbidden));
  }
  return mask;
}

}  // namespace embedtune
