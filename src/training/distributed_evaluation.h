// Evaluation shared between the processes of a torchrun job, for the trainer and `run` alike.
#pragma once

#include <vector>

#include "distributed/world.h"
#include "evaluation/model_evaluation.h"

namespace embedtune::training {

// Makes `options` evaluate as one process would, with the work split between `world`'s ranks:
// each rank encodes every size-th batch and an all-reduce sums the rows, so every rank gets the
// whole encoding and computes the same metrics (and takes the same best-model decisions).
// `world` must outlive the evaluation.
inline void share_evaluation(evaluation::ModelEvaluationOptions& options,
                             const distributed::World& world) {
  options.shard_index = world.rank();
  options.shard_count = world.size();
  options.combine_shards = [&world](at::Tensor& partial) {
    std::vector<at::Tensor> tensors{partial};
    world.all_reduce_sum(tensors);
  };
}

}  // namespace embedtune::training
