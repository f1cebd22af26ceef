// PackedBatch: host-side construction of the packed layout (no device syncs).
#include "model/packed_batch.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "io/error.h"

namespace embedtune {

PackedBatch PackedBatch::from_ids(const std::vector<const std::vector<int32_t>*>& sequences,
                                  at::Device device, bool left_padded, int64_t min_length,
                                  const std::vector<int64_t>& pad_before) {
  PackedBatch batch;
  batch.left_padded = left_padded;
  batch.max_length = std::max<int64_t>(min_length, 0);
  TORCH_INTERNAL_ASSERT(pad_before.empty() || pad_before.size() == sequences.size());
  const auto batch_size = static_cast<int64_t>(sequences.size());
  int64_t total = 0;
  for (const auto* seq : sequences) {
    if (seq->empty()) fail("internal: an empty token sequence cannot be encoded");
    batch.lengths.push_back(static_cast<int64_t>(seq->size()));
    batch.max_length = std::max<int64_t>(batch.max_length, static_cast<int64_t>(seq->size()));
    total += static_cast<int64_t>(seq->size());
  }
  const int64_t t = batch.max_length;
  batch.uniform = total == batch_size * t;

  auto i64 = at::TensorOptions().dtype(at::kLong);
  at::Tensor ids = at::empty({total}, i64);
  at::Tensor positions = at::empty({total}, i64);
  at::Tensor segments = at::empty({total}, i64);
  at::Tensor padded = at::empty({total}, i64);
  at::Tensor offsets = at::empty({batch_size + 1}, i64);
  at::Tensor mask = at::zeros({batch_size, 1, 1, t}, at::TensorOptions().dtype(at::kBool));
  auto* ids_p = ids.data_ptr<int64_t>();
  auto* pos_p = positions.data_ptr<int64_t>();
  auto* seg_p = segments.data_ptr<int64_t>();
  auto* pad_p = padded.data_ptr<int64_t>();
  auto* off_p = offsets.data_ptr<int64_t>();
  auto* mask_p = mask.data_ptr<bool>();
  int64_t n = 0;
  for (int64_t b = 0; b < batch_size; ++b) {
    off_p[b] = n;
    const auto& seq = *sequences[b];
    const auto length = static_cast<int64_t>(seq.size());
    // Where the tokens start.
    const int64_t row = b * t + (!pad_before.empty() ? pad_before[b]
                                 : left_padded       ? t - length
                                                     : 0);
    TORCH_INTERNAL_ASSERT(pad_before.empty() || pad_before[b] + length <= t);
    for (int64_t i = 0; i < length; ++i, ++n) {
      ids_p[n] = seq[i];
      pos_p[n] = i;
      seg_p[n] = b;
      pad_p[n] = row + i;
      mask_p[row + i] = true;
    }
  }
  off_p[batch_size] = n;

  const bool move = device != at::Device(at::kCPU);
  batch.input_ids = move ? ids.to(device, /*non_blocking=*/true) : ids;
  batch.position_ids = move ? positions.to(device, true) : positions;
  batch.segment_ids = move ? segments.to(device, true) : segments;
  batch.offsets = move ? offsets.to(device, true) : offsets;
  batch.padded_index = move ? padded.to(device, true) : padded;
  batch.key_mask = move ? mask.to(device, true) : mask;
  return batch;
}

}  // namespace embedtune
