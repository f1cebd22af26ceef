// UTF-8 well-formedness as RFC 3629 defines it (and Rust's str, which tokenizers uses).
#include "io/utf8.h"

#include <gtest/gtest.h>

namespace embedtune::io {
namespace {

TEST(Utf8, FindsTheFirstInvalidByte) {
  EXPECT_FALSE(find_invalid_utf8("plain ascii text here").has_value());
  EXPECT_FALSE(find_invalid_utf8("h\xC3\xA9llo \xE4\xB8\xAD \xF0\x9F\x98\x80").has_value());
  EXPECT_FALSE(find_invalid_utf8("").has_value());
  EXPECT_EQ(find_invalid_utf8("abc\xFF"), 3u);
  EXPECT_EQ(find_invalid_utf8("ab\xC3"), 2u);                       // truncated
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);                     // overlong '/'
  EXPECT_EQ(find_invalid_utf8("x\xED\xA0\x80"), 1u);                // surrogate U+D800
  EXPECT_EQ(find_invalid_utf8("0123456789\xF4\x90\x80\x80"), 10u);  // > U+10FFFF
  EXPECT_EQ(find_invalid_utf8("\x80"), 0u);                         // lone continuation
  // Past the 8-byte ASCII steps, and at their edges.
  EXPECT_EQ(find_invalid_utf8("01234567\xFF"), 8u);
  EXPECT_EQ(find_invalid_utf8("0123456\xFF"), 7u);
  EXPECT_EQ(find_invalid_utf8("0123456789abcdef\xC3\xA9ghijklmnopq\xE2\x82"), 29u);
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x98\x80", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xC3", 0), 0u);
}

}  // namespace
}  // namespace embedtune::io
