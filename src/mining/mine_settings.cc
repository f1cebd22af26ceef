// MineSettings::validate: the checks that need no data.
#include "mining/mine_settings.h"

#include <algorithm>
#include <iterator>

#include "io/error.h"

namespace embedtune::mining {
namespace {
const char* const kFormats[] = {"triplet", "n-tuple", "labeled-pair", "labeled-list"};
}  // namespace

void MineSettings::validate(std::string_view where) const {
  if (std::find(std::begin(kFormats), std::end(kFormats), output_format) == std::end(kFormats)) {
    fail(
        "{}output_format: expected triplet, n-tuple, labeled-pair or labeled-list, found '{}'; "
        "use triplet or n-tuple for training",
        where, output_format);
  }
  if (sampling_strategy != "top" && sampling_strategy != "random") {
    fail("{}sampling_strategy: expected top or random, found '{}'; fix the value", where,
         sampling_strategy);
  }
  if (num_negatives < 1) {
    fail("{}num_negatives: expected at least 1, found {}; fix the value", where, num_negatives);
  }
  if (range_min < 0) {
    fail("{}range_min: expected a rank >= 0, found {}; fix the value", where, range_min);
  }
  if (batch_size < 1) {
    fail("{}batch_size: expected an integer >= 1, found {}; fix the value", where, batch_size);
  }
  if (faiss_batch_size < 1) {
    fail("{}faiss_batch_size: expected a positive integer, found {}; fix the value", where,
         faiss_batch_size);
  }
  if (anchor_column_name.empty() || positive_column_name.empty()) {
    fail("{}anchor_column_name / positive_column_name: expected field names, found an empty one",
         where);
  }
}

}  // namespace embedtune::mining
