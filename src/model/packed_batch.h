// PackedBatch: B token sequences laid end to end with no padding, plus what attention needs to
// pad them around the one step that cannot run packed.
//
// Letters: B sequences, N = total tokens, T = the longest sequence, H = hidden size.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace embedtune {

struct PackedBatch {
  at::Tensor input_ids;     // (N) int64
  at::Tensor position_ids;  // (N) int64, 0..len-1 within each sequence
  at::Tensor segment_ids;   // (N) int64, which sequence each token belongs to
  at::Tensor offsets;  // (B+1) int64, cu_seqlens: sequence b is tokens [offsets[b], offsets[b+1])
  at::Tensor padded_index;       // (N) int64, row of each token in the padded (B*T) layout
  at::Tensor key_mask;           // (B, 1, 1, T) bool, true where a key is a real token
  std::vector<int64_t> lengths;  // host copy of the B lengths
  int64_t max_length = 0;        // T
  bool uniform = false;          // every length equals T: padding is a no-op
  // The padded layout puts the padding before each sequence's tokens (the tokenizer's
  // padding_side "left", as Qwen3-Embedding's), so that attention dropout, drawn over that
  // layout, drops what transformers drops.
  bool left_padded = false;

  int64_t batch_size() const { return static_cast<int64_t>(lengths.size()); }
  int64_t num_tokens() const { return input_ids.size(0); }

  // Builds the batch on the host from token ids (each sequence non-empty), then moves the
  // tensors to `device` in one transfer each. T is the longest sequence, or `min_length` when
  // that is longer: a mini-batch cut from a left-padded batch keeps the whole batch's width, as
  // sentence-transformers' _create_minibatch keeps leading padding. `pad_before`, when given (one
  // per sequence), places sequence b's tokens after that many padding slots of its padded row
  // instead (the layout of sentence-transformers' merged column batches: each column padded on its
  // tokenizer's side to its own longest, then on the right to the longest of all); each must leave
  // room for the sequence within T. Throws embedtune::Error on an empty sequence.
  static PackedBatch from_ids(const std::vector<const std::vector<int32_t>*>& sequences,
                              at::Device device, bool left_padded = false, int64_t min_length = 0,
                              const std::vector<int64_t>& pad_before = {});
};

}  // namespace embedtune
