// Linear and Embedding modules whose parameters start uninitialised, for weights that are loaded.
//
// torch::nn::Linear and torch::nn::Embedding draw random values for every parameter when they are
// built (kaiming-uniform, normal), and load_encoder() then overwrites all of them from
// model.safetensors. Drawing them took 0.1 s of each load of all-MiniLM-L6-v2, 0.4 s of a
// bge-base-sized model's and 1.1 s of an XLM-R-base-sized one's, on 2 cores. These modules
// allocate their parameters with at::empty and register them as the torch modules do (same names,
// same order), and their forward is the same ATen call. Contract: whoever builds one fills every
// parameter before a forward; load_weights() does, and fails on any tensor the file lacks.
//
// Letters: I in-features, O out-features.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>

namespace embedtune {

// nn.Linear(in_features, out_features, bias): weight (O, I), bias (O) when `bias`.
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true);
  at::Tensor forward(const at::Tensor& input);  // (..., I) -> (..., O), as at::linear
  at::Tensor weight;
  at::Tensor bias;  // undefined without a bias, and then not a parameter
};
TORCH_MODULE(Linear);

// nn.Embedding(num_embeddings, embedding_dim, padding_idx): weight (num_embeddings, dim). The
// row of `padding_idx` gets no gradient, as in PyTorch; it must be in 0..num_embeddings-1.
class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim,
                std::optional<int64_t> padding_idx = std::nullopt);
  at::Tensor forward(const at::Tensor& ids);  // integer ids (...) -> (..., dim)
  at::Tensor weight;

 private:
  int64_t padding_idx_;  // -1: none, as at::embedding takes it
};
TORCH_MODULE(Embedding);

}  // namespace embedtune
