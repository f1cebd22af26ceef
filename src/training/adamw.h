// AdamW on LibTorch's fused kernel (CPU and CUDA), the same update as
// torch.optim.AdamW(fused=True), which transformers 5.24 uses by default
// (optim="adamw_torch_fused"); gradient clipping without a host sync; the Trainer's weight-decay
// parameter split.
#pragma once

#include <ATen/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace torch::nn {
class Module;
}

namespace embedtune {

class AdamW {
 public:
  // `params` are updated in place (leaf tensors; their .grad() is read). Weight decay is decoupled
  // (p -= lr * weight_decay * p before the Adam update), applied to params i with decay[i] true;
  // an empty `decay` means every param decays. Throws embedtune::Error when decay's size differs
  // from params', or a hyper-parameter is out of range (betas in [0, 1), eps >= 0, weight_decay >=
  // 0).
  AdamW(std::vector<at::Tensor> params, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0.0, std::vector<bool> decay = {});

  // One update at learning rate `lr` for every param that has a gradient (others are skipped and
  // their step counters stay, as torch). Per (device, dtype, decay) group: state steps += 1
  // (float32 scalars on the param's device, as torch's _foreach_add_), then at::_fused_adamw_.
  // No host synchronisation.
  void step(double lr);
  // Sets every param's gradient to undefined (torch's zero_grad(set_to_none=True)).
  void zero_grad();

  // For checkpoints: "exp_avg.{i}", "exp_avg_sq.{i}", "step.{i}" (i = index in `params`), the
  // tensors themselves (callers copy or save them; they live on the params' device).
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  // Copies every entry of a state() list into this optimizer (any device; converted to the
  // param's). Throws embedtune::Error naming the entry when one is missing, unknown, or has the
  // wrong shape.
  void load_state(const std::vector<std::pair<std::string, at::Tensor>>& state);

  const std::vector<at::Tensor>& params() const { return params_; }

 private:
  std::vector<at::Tensor> params_, exp_avg_, exp_avg_sq_, steps_;
  std::vector<bool> decay_;
  double beta1_, beta2_, eps_, weight_decay_;
};

// torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True) without reading anything back:
// total = ||(||g_1||, ..., ||g_n||)||_2 over the params that have gradients (_foreach_norm per
// device/dtype group), every gradient multiplied by min(max_norm / (total + 1e-6), 1). Returns the
// total norm, a scalar tensor on the first gradient's device (an undefined tensor when no param
// has a gradient).
at::Tensor clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

// transformers' Trainer.get_decay_parameter_names for `module`'s named_parameters(), in order:
// false for parameters of LayerNorm modules and for names matching (lower-cased) "bias",
// "layernorm", "rmsnorm", "(^|.)norm($|.)" or "_norm($|.)"; true otherwise.
std::vector<bool> decay_mask(const torch::nn::Module& module);

}  // namespace embedtune
