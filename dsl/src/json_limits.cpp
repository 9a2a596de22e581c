#include "meshflow/json_limits.hpp"

#include <fmt/format.h>

namespace meshflow {

expected<void> check_json(std::string_view text, const json_limits& limits,
                          std::string_view what) {
  if (text.size() > limits.max_bytes)
    return fail("limit", fmt::format("{} is {} bytes; the limit is {} bytes", what, text.size(),
                                     limits.max_bytes));
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character, whatever it is
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (++depth > limits.max_depth)
          return fail("limit", fmt::format("{} nests deeper than {} levels (at byte {}); the "
                                           "limit is {} levels",
                                           what, limits.max_depth, i, limits.max_depth));
        break;
      case '}':
      case ']':
        if (depth > 0)
          --depth;
        break;
      default:
        break;
    }
  }
  return {};
}

} // namespace meshflow
