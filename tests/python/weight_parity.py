"""Comparing weights trained by embedtune with weights trained by sentence-transformers' trainer
(test_train_parity, test_train_ntuple, test_train_gist, and test_distributed against the trainer
under torchrun).

Every weight must agree within 1e-4 after six (eight under torchrun) AdamW steps, except where the
comparison has no answer: an element whose first nonzero gradient is at the rounding level of its
row. Adam's first step for an element is lr * g / (|g| + eps), about lr * sign(g): where g is a
cancellation down to the last bits of a sum (an MPNet test model's word embedding of "##z",
element 83, got 6.1e-11 at step 3 against 5.2e-3 for the rest of its row; BERT's "zero", element
32, 3.1e-7 against 0.13), g's sign and size are each side's rounding, and the step is anywhere in
(-lr, lr). Which elements those are is decided by the oracle's own gradients (RoundingLevel, a
trainer callback), not by our output; they must stay within steps * lr of sentence-transformers.
So must the attention key biases: their true gradient is zero (q.b adds the same to every score
of a query, and softmax ignores it), so every step of theirs is rounding noise scaled by Adam.
"""
import torch

# A first gradient below this fraction of its row's largest is rounding: float32 keeps 24 bits
# (6e-8 relative), and these gradients are sums of hundreds of terms of the row's size.
ROUNDING = 1e-5
KEY_BIASES = ("attention.self.key.bias", "attention.attn.k.bias", "k_proj.bias")


def row_scale(grad: torch.Tensor) -> torch.Tensor:
    """The largest |gradient| of each element's row (the whole tensor for a vector), broadcastable."""
    magnitude = grad.abs()
    if grad.dim() < 2:
        return magnitude.max().expand_as(magnitude)
    return magnitude.flatten(1).max(dim=1).values.view(-1, *([1] * (grad.dim() - 1)))


def rounding_level_callback(auto_model):
    """A transformers TrainerCallback that marks, in `.marked` (parameter name -> bool tensor), the
    elements of `auto_model` whose first nonzero gradient is below ROUNDING of its row's largest."""
    from transformers import TrainerCallback

    class RoundingLevel(TrainerCallback):
        def __init__(self):
            self.marked, self.seen = {}, {}

        def on_pre_optimizer_step(self, args, state, control, **kwargs):
            for name, parameter in auto_model.named_parameters():
                grad = parameter.grad
                if grad is None:
                    continue
                grad = grad.detach().float()
                seen = self.seen.setdefault(name, torch.zeros_like(grad, dtype=torch.bool))
                first = (grad != 0) & ~seen
                tiny = first & (grad.abs() < ROUNDING * row_scale(grad))
                self.marked[name] = self.marked.get(name, torch.zeros_like(seen)) | tiny
                seen |= first

    return RoundingLevel()


def compare_weights(got: dict, expected: dict, marked: dict, steps: int, lr: float) -> float:
    """Asserts embedtune's trained tensors `got` match sentence-transformers' `expected` as the module
    docstring says; returns the largest difference over the elements held to 1e-4."""
    worst, loose, count = 0.0, [], 0
    for name, tensor in expected.items():
        assert name in got, f"{name} missing from embedtune's model.safetensors"
        diff = (got[name].float() - tensor.float()).abs()
        key_bias = name.endswith(KEY_BIASES)
        free = torch.ones_like(diff, dtype=torch.bool) if key_bias else \
            marked.get(name, torch.zeros_like(diff, dtype=torch.bool))
        if free.any():
            bound, largest = steps * lr * 1.01, diff[free].max().item()
            assert largest <= bound, f"{name} differs by {largest:.3e} (> {bound:.3e})"
            if not key_bias:
                count += int(free.sum())
                loose += [(name, index, f"{diff[tuple(index)].item():.2e}")
                          for index in (free & (diff >= 1e-4)).nonzero().tolist()]
        held = diff.masked_fill(free, 0).max().item()
        print(f"{name:60s} max |diff| {held:.3e}")
        worst = max(worst, held)
    print(f"{count} elements' first gradient was rounding (held to steps * lr); past 1e-4: {loose}")
    assert worst < 1e-4, f"final weights differ by {worst:.3e}"
    return worst
