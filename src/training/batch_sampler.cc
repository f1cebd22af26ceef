// The default shuffled batch sampler and NoDuplicatesBatchSampler, permutation for permutation as
// sentence-transformers 6.2 under transformers 5.24 / accelerate.
#include "training/batch_sampler.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <limits>
#include <string_view>
#include <unordered_map>

#include "io/error.h"

namespace embedtune {
namespace {

// torch.randperm(n, generator=g, dtype) on the CPU, as a host vector. LibTorch's CPU generator is
// the same mt19937 as Python's torch.Generator, and randperm the same kernel.
std::vector<int64_t> randperm(int64_t n, at::Generator& generator, at::ScalarType dtype) {
  const at::Tensor perm =
      at::randperm(n, generator, at::TensorOptions().dtype(dtype)).to(at::kLong);
  const int64_t* data = perm.data_ptr<int64_t>();
  return std::vector<int64_t>(data, data + n);
}

int64_t planned_batches(int64_t rows, int64_t batch_size, bool drop_last) {
  return drop_last ? rows / batch_size : (rows + batch_size - 1) / batch_size;
}

class DefaultBatchSampler final : public BatchSampler {
 public:
  DefaultBatchSampler(int64_t rows, int64_t batch_size, bool drop_last, uint64_t seed)
      : rows_(rows), batch_size_(batch_size), drop_last_(drop_last), seed_(seed) {}

  std::vector<std::vector<int64_t>> batches(int64_t epoch) const override {
    // accelerate's SeedableRandomSampler.__iter__: manual_seed(initial_seed + epoch), then
    // randperm.
    at::Generator generator =
        at::make_generator<at::CPUGeneratorImpl>(seed_ + static_cast<uint64_t>(epoch));
    const std::vector<int64_t> order = randperm(rows_, generator, at::kLong);
    std::vector<std::vector<int64_t>> out;
    for (int64_t begin = 0; begin < rows_; begin += batch_size_) {
      const int64_t end = std::min(rows_, begin + batch_size_);
      if (end - begin < batch_size_ && drop_last_) break;
      out.emplace_back(order.begin() + begin, order.begin() + end);
    }
    return out;
  }

  int64_t num_batches() const override { return planned_batches(rows_, batch_size_, drop_last_); }

 private:
  int64_t rows_, batch_size_;
  bool drop_last_;
  uint64_t seed_;
};

class NoDuplicatesBatchSampler final : public BatchSampler {
 public:
  NoDuplicatesBatchSampler(const std::vector<std::vector<std::string>>& rows, int64_t batch_size,
                           bool drop_last, uint64_t seed)
      : batch_size_(batch_size), drop_last_(drop_last), seed_(seed) {
    // Each distinct string becomes an integer id; a row keeps the ids of its distinct values.
    std::unordered_map<std::string_view, int64_t> ids;
    values_.reserve(rows.size());
    for (const auto& row : rows) {
      std::vector<int64_t> row_ids;
      for (const auto& value : row) {
        const auto [it, inserted] = ids.emplace(value, static_cast<int64_t>(ids.size()));
        if (std::find(row_ids.begin(), row_ids.end(), it->second) == row_ids.end())
          row_ids.push_back(it->second);
      }
      values_.push_back(std::move(row_ids));
    }
    num_values_ = static_cast<int64_t>(ids.size());
  }

  std::vector<std::vector<int64_t>> batches(int64_t epoch) const override {
    std::vector<std::vector<int64_t>> out;
    const int64_t rows = static_cast<int64_t>(values_.size());
    if (rows == 0) return out;
    at::Generator generator =
        at::make_generator<at::CPUGeneratorImpl>(seed_ + static_cast<uint64_t>(epoch));
    const int64_t expected = num_batches();
    // The first pass is never truncated: without drop_last it may legitimately yield more.
    one_pass(generator, out, std::numeric_limits<int64_t>::max());
    if (static_cast<int64_t>(out.size()) >= expected || out.empty()) return out;
    for (int pass = 0; pass < kMaxResamplePasses && static_cast<int64_t>(out.size()) < expected;
         ++pass) {
      one_pass(generator, out, expected);
    }
    return out;
  }

  int64_t num_batches() const override {
    return planned_batches(static_cast<int64_t>(values_.size()), batch_size_, drop_last_);
  }

 private:
  static constexpr int kMaxResamplePasses =
      2;  // sentence_transformers.base.sampler._MAX_RESAMPLE_PASSES

  // NoDuplicatesBatchSampler._iter_one_pass: a singly linked list over the shuffled positions;
  // batches are appended to `out` until it holds `limit` batches or the rows run out.
  void one_pass(at::Generator& generator, std::vector<std::vector<int64_t>>& out,
                int64_t limit) const {
    const int64_t rows = static_cast<int64_t>(values_.size());
    const at::ScalarType dtype = rows <= std::numeric_limits<int32_t>::max() ? at::kInt : at::kLong;
    const std::vector<int64_t> order = randperm(rows, generator, dtype);
    std::vector<int64_t> next(rows);
    for (int64_t i = 0; i < rows; ++i) next[i] = i + 1;
    next[rows - 1] = -1;
    int64_t head = 0;
    // stamp[v] == batch number when value v is in the current batch: a set cleared in O(1).
    std::vector<int64_t> stamp(num_values_, -1);
    int64_t batch_number = 0;
    while (head != -1) {
      ++batch_number;
      std::vector<int64_t> batch;
      int64_t current = head, previous = -1;
      bool full = false;
      while (current != -1) {
        const int64_t following = next[current];
        const int64_t index = order[current];
        const auto& sample = values_[index];
        const bool overlap = std::any_of(sample.begin(), sample.end(),
                                         [&](int64_t v) { return stamp[v] == batch_number; });
        if (overlap) {
          previous = current;
          current = following;
          continue;
        }
        batch.push_back(index);
        if (previous == -1) {
          head = following;
        } else {
          next[previous] = following;
        }
        if (static_cast<int64_t>(batch.size()) == batch_size_) {
          full = true;
          out.push_back(std::move(batch));
          if (static_cast<int64_t>(out.size()) >= limit) return;
          break;
        }
        for (int64_t v : sample) stamp[v] = batch_number;
        current = following;
      }
      if (!full && !drop_last_) {
        out.push_back(std::move(batch));
        if (static_cast<int64_t>(out.size()) >= limit) return;
      }
    }
  }

  std::vector<std::vector<int64_t>> values_;  // per row: ids of its distinct column values
  int64_t num_values_ = 0;
  int64_t batch_size_;
  bool drop_last_;
  uint64_t seed_;
};

}  // namespace

std::unique_ptr<BatchSampler> make_batch_sampler(const std::string& kind,
                                                 const std::vector<std::vector<std::string>>& rows,
                                                 int64_t batch_size, bool drop_last,
                                                 uint64_t seed) {
  if (batch_size < 1) {
    fail("per_device_train_batch_size: expected a batch size >= 1, found {}", batch_size);
  }
  if (kind == "batch_sampler") {
    return std::make_unique<DefaultBatchSampler>(static_cast<int64_t>(rows.size()), batch_size,
                                                 drop_last, seed);
  }
  if (kind == "no_duplicates") {
    return std::make_unique<NoDuplicatesBatchSampler>(rows, batch_size, drop_last, seed);
  }
  fail("batch_sampler: expected batch_sampler or no_duplicates, found '{}'", kind);
}

}  // namespace embedtune
