#include "encoding.hpp"

#include <array>
#include <cstdint>

#include <fmt/format.h>

#include "meshflow/utf8.hpp"

namespace meshflow::transport::detail {

namespace {

bool is_control(char32_t cp) {
  return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F);
}

bool is_noncharacter(char32_t cp) {
  return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

constexpr std::string_view base64_alphabet =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> base64_values = [] {
  std::array<std::int8_t, 256> values{};
  values.fill(-1);
  for (std::size_t k = 0; k < base64_alphabet.size(); ++k)
    values[static_cast<unsigned char>(base64_alphabet[k])] =
      static_cast<std::int8_t>(k);
  return values;
}();

} // namespace

std::optional<std::string> string_problem(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    std::size_t at = i;
    auto cp = utf8::next_code_point(text, i);
    if (!cp)
      return fmt::format("is not valid UTF-8 (bad byte at offset {})", at);
    if (is_control(*cp))
      return fmt::format("holds the control character U+{:04X} at offset {}",
                         static_cast<std::uint32_t>(*cp), at);
    if (is_noncharacter(*cp))
      return fmt::format("holds the Unicode noncharacter U+{:04X} at offset {}",
                         static_cast<std::uint32_t>(*cp), at);
  }
  return std::nullopt;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  auto at = [&](std::size_t k) -> std::uint32_t {
    return static_cast<unsigned char>(bytes[k]);
  };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += base64_alphabet[(n >> 6) & 63];
    out += base64_alphabet[n & 63];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = at(i) << 16;
    if (rest == 2)
      n |= at(i + 1) << 8;
    out += base64_alphabet[(n >> 18) & 63];
    out += base64_alphabet[(n >> 12) & 63];
    out += rest == 2 ? base64_alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // Padding is optional; when present it must complete the last quantum.
  std::size_t pad = 0;
  while (pad < 2 && text.size() > pad && text[text.size() - 1 - pad] == '=')
    ++pad;
  if (pad > 0 && text.size() % 4 != 0)
    return std::nullopt;
  std::string_view body = text.substr(0, text.size() - pad);
  if (body.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(body.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    std::int8_t v = base64_values[static_cast<unsigned char>(c)];
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // The bits left over must be zero, or the text is not canonical base64.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string media_type_essence(std::string_view content_type) {
  auto end = content_type.find(';');
  std::string_view essence = content_type.substr(0, end);
  while (!essence.empty() && (essence.front() == ' ' || essence.front() == '\t'))
    essence.remove_prefix(1);
  while (!essence.empty() && (essence.back() == ' ' || essence.back() == '\t'))
    essence.remove_suffix(1);
  return lowercase(essence);
}

bool is_text_media_type(std::string_view content_type) {
  std::string essence = media_type_essence(content_type);
  auto ends_with = [&](std::string_view suffix) {
    return essence.size() >= suffix.size()
           && essence.compare(essence.size() - suffix.size(), suffix.size(),
                              suffix) == 0;
  };
  return essence.starts_with("text/") || ends_with("/json")
         || ends_with("+json") || ends_with("/xml") || ends_with("+xml")
         || lowercase(content_type).find("charset=") != std::string::npos;
}

std::string quote(std::string_view text) {
  constexpr std::size_t max_shown = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < max_shown; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\')
      out += fmt::format("\\{}", static_cast<char>(c));
    else if (c >= 0x20 && c < 0x7F)
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  out += '"';
  if (text.size() > max_shown)
    out += fmt::format(" (and {} more bytes)", text.size() - max_shown);
  return out;
}

} // namespace meshflow::transport::detail
