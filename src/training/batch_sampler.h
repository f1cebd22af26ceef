// Batch samplers for training, as sentence-transformers 6.2's trainer builds them: the default
// shuffled BatchSampler and NoDuplicatesBatchSampler. Batches are lists of row indices.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace embedtune {

class BatchSampler {
 public:
  virtual ~BatchSampler() = default;
  // Row indices of every batch of `epoch` (0-based), in order. Deterministic: the same epoch gives
  // the same batches, whatever was asked before (each epoch reseeds, as the Python trainer does).
  virtual std::vector<std::vector<int64_t>> batches(int64_t epoch) const = 0;
  // The number of batches the trainer plans with (the DataLoader's len): ceil(rows / batch_size),
  // or floor with drop_last. NoDuplicates may yield more when drop_last is false (see below).
  virtual int64_t num_batches() const = 0;
};

// kind "batch_sampler" (the default): as DefaultBatchSampler(RandomSampler(dataset, generator))
// once accelerate has prepared it (SeedableRandomSampler): epoch e is torch.randperm(rows,
// generator seeded with seed + e), cut into batches of batch_size, the last short batch dropped
// when drop_last. `seed` is TrainingArguments.data_seed when set, else seed.
//
// kind "no_duplicates": as NoDuplicatesBatchSampler: the generator is seeded with seed + e and a
// torch.randperm (int32 for fewer than 2^31 rows) orders the rows; walking that order, a row joins
// the current batch unless one of its column values is already in the batch; rows that clash wait
// for later batches, in order. A full batch is yielded at once; after a walk that cannot fill the
// batch, the partial batch is yielded unless drop_last, and a new batch starts from the waiting
// rows (so an epoch may yield more than num_batches() batches without drop_last). When one pass
// yields fewer than num_batches() batches (possible with drop_last), up to two more passes over
// fresh permutations from the same generator top the epoch up to exactly num_batches(), as
// sentence-transformers 6.2 does. Values are compared as exact strings across all columns.
//
// `rows` holds each row's text columns (anchor, positive, negatives...). Throws embedtune::Error
// for an unknown kind (naming the valid ones) or batch_size < 1.
std::unique_ptr<BatchSampler> make_batch_sampler(const std::string& kind,
                                                 const std::vector<std::vector<std::string>>& rows,
                                                 int64_t batch_size, bool drop_last, uint64_t seed);

}  // namespace embedtune
