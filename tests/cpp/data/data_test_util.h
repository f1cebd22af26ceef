// The data tests' names for the shared helpers of test_support.h.
#pragma once

#include "test_support.h"

namespace embedtune::data::testing {

using TempDirTest = embedtune::testing::ScratchDirTest;
using embedtune::testing::error_of;

}  // namespace embedtune::data::testing
