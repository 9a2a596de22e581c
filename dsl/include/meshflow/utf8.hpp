#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

/// UTF-8, as RFC 3629 defines it: no overlong forms, no surrogates, nothing
/// above U+10FFFF. The one decoder of the project.
namespace meshflow::utf8 {

/// The code point starting at `text[i]`, advancing `i` past it; nothing
/// (and `i` unchanged) when the bytes there are not well-formed.
std::optional<char32_t> next_code_point(std::string_view text, std::size_t& i);

/// The offset of the first byte that is not well-formed UTF-8, or npos.
std::size_t first_invalid(std::string_view text);

inline bool is_valid(std::string_view text) {
  return first_invalid(text) == std::string_view::npos;
}

} // namespace meshflow::utf8
