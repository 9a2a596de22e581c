#include <gtest/gtest.h>

#include "meshflow/utf8.hpp"

using namespace meshflow;

TEST(utf8, decodes_code_points_and_finds_the_first_bad_byte) {
  std::string_view text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  std::size_t i = 0;
  EXPECT_EQ(utf8::next_code_point(text, i), U'a');
  EXPECT_EQ(utf8::next_code_point(text, i), U'\u00E9');
  EXPECT_EQ(utf8::next_code_point(text, i), U'\u20AC');
  EXPECT_EQ(utf8::next_code_point(text, i), U'\U0001F600');
  EXPECT_EQ(i, text.size());
  EXPECT_TRUE(utf8::is_valid(text));
  EXPECT_EQ(utf8::first_invalid("ok\xC0\xAF"), 2u);         // overlong '/'
  EXPECT_EQ(utf8::first_invalid("\xED\xA0\x80"), 0u);       // a surrogate
  EXPECT_EQ(utf8::first_invalid("x\x80"), 1u);              // lone continuation
  EXPECT_EQ(utf8::first_invalid("\xF4\x90\x80\x80"), 0u);   // above U+10FFFF
  EXPECT_EQ(utf8::first_invalid("\xE2\x82"), 0u);           // cut short
}
