#pragma once

// Byte- and text-level helpers shared by the event formats (not public).

#include <optional>
#include <string>
#include <string_view>

namespace meshflow::transport::detail {

/// Why `text` is not a valid CloudEvents String (not UTF-8, or it holds a
/// control character or a Unicode noncharacter), or nothing when it is.
std::optional<std::string> string_problem(std::string_view text);

/// Standard base64 (RFC 4648 section 4) with padding.
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64; padding is optional, whitespace is not allowed.
/// Nothing when `text` is not base64.
std::optional<std::string> base64_decode(std::string_view text);

/// ASCII lowercase copy.
std::string lowercase(std::string_view text);

/// The media type of a content type without its parameters, trimmed and
/// lowercased: `Application/JSON; charset=utf-8` -> `application/json`.
std::string media_type_essence(std::string_view content_type);

/// True when data of this content type is text: `text/*`, JSON and XML
/// types, or any type with a `charset` parameter.
bool is_text_media_type(std::string_view content_type);

/// `text` quoted for a message, with bytes that are not printable ASCII
/// escaped and long texts shortened, so messages stay readable on one line.
std::string quote(std::string_view text);

} // namespace meshflow::transport::detail
