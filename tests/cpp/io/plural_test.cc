// counted(): "1 step" but "2 steps", so a one-step run does not print "1 steps".
#include "io/plural.h"

#include <gtest/gtest.h>

namespace embedtune::io {
namespace {

TEST(Counted, OneTakesTheSingular) {
  EXPECT_EQ(counted(1, "step"), "1 step");
  EXPECT_EQ(counted(1, "query", "queries"), "1 query");
}

TEST(Counted, ZeroAndManyTakeThePlural) {
  EXPECT_EQ(counted(0, "step"), "0 steps");
  EXPECT_EQ(counted(2, "text"), "2 texts");
  EXPECT_EQ(counted(3, "query", "queries"), "3 queries");
  EXPECT_EQ(counted(-1, "file"), "-1 files");
}

}  // namespace
}  // namespace embedtune::io
