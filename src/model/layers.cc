// Linear and Embedding without random initialisation (see layers.h).
#include "model/layers.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

namespace embedtune {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool bias) {
  weight = register_parameter("weight", at::empty({out_features, in_features}));
  if (bias) this->bias = register_parameter("bias", at::empty({out_features}));
}

at::Tensor LinearImpl::forward(const at::Tensor& input) { return at::linear(input, weight, bias); }

EmbeddingImpl::EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim,
                             std::optional<int64_t> padding_idx)
    : padding_idx_(padding_idx.value_or(-1)) {
  TORCH_INTERNAL_ASSERT(!padding_idx || (*padding_idx >= 0 && *padding_idx < num_embeddings),
                        "padding_idx out of range");
  weight = register_parameter("weight", at::empty({num_embeddings, embedding_dim}));
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) {
  // As torch.nn.functional.embedding without max_norm: contiguous ids, no gradient scaling.
  return at::embedding(weight, ids.contiguous(), padding_idx_, /*scale_grad_by_freq=*/false,
                       /*sparse=*/false);
}

}  // namespace embedtune
