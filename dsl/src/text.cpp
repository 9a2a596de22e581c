#include "text.hpp"

#include "meshflow/dsl/document.hpp"

#include "meshflow/utf8.hpp"

#include <algorithm>

#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace meshflow::dsl {

expected<std::string> read_text(const std::filesystem::path& file, std::size_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    return fail("io", fmt::format("'{}' is a directory, not a file", file.string()));
  auto size = std::filesystem::file_size(file, ec);
  if (ec)
    return fail("io", fmt::format("cannot read '{}': {}", file.string(), ec.message()));
  if (size > max_bytes)
    return fail("io", fmt::format("'{}' is {} bytes; the limit here is {} bytes",
                                  file.string(), size, max_bytes));
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return fail("io", fmt::format("cannot open '{}'", file.string()));
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  return text;
}

} // namespace meshflow::dsl

namespace meshflow::dsl::detail {

source_position position_at(std::string_view text, std::size_t offset) {
  source_position p{1, 1};
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++p.column;  // count code points, not continuation bytes
    }
  }
  return p;
}

namespace {

/// Reads JSON without building it, keeping the first syntax error.
struct json_syntax_check : nlohmann::json_sax<nlohmann::json> {
  bool error = false;
  std::size_t offset = 0;
  std::string message;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    error = true;
    offset = position > 0 ? position - 1 : 0;
    message = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax
    // error while parsing object - unexpected '}'; expected string literal"
    if (auto p = message.find("syntax error while parsing "); p != std::string::npos)
      message = message.substr(p + 13);
    else if (auto q = message.rfind(": "); q != std::string::npos)
      message = message.substr(q + 2);
    return false;
  }
};

/// Where a second YAML document starts (a `---` after content, or content
/// after `...`), if one does.
std::optional<std::size_t> second_document_at(std::string_view text) {
  auto marker = [](std::string_view line, std::string_view m) {
    return line.starts_with(m) && (line.size() == 3 || line[3] == ' ' || line[3] == '\t'
                                   || line[3] == '\r');
  };
  bool content = false, ended = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = std::min(text.find('\n', pos), text.size());
    auto line = text.substr(pos, end - pos);
    auto first = line.find_first_not_of(" \t\r");
    bool blank = first == std::string_view::npos || line[first] == '#';
    if (marker(line, "---")) {
      if (content)
        return pos;
      content = true;  // `--- value` may carry the document on its own line
      if (line.find_first_not_of(" \t\r", 3) == std::string_view::npos
          || line[line.find_first_not_of(" \t\r", 3)] == '#')
        content = false;
    } else if (marker(line, "...")) {
      ended = content;
    } else if (!blank && line[0] != '%') {
      if (ended)
        return pos;
      content = true;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

diagnostic error_at(const std::string& file, source_position pos, std::string message) {
  return {file, pos, severity::error, "", std::move(message)};
}

} // namespace

parsed_document parse_document(std::string_view text, const std::string& file) {
  parsed_document out;
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    out.diagnostics.push_back(error_at(file, position_at(text, nul),
                                       "not a text document (it contains a NUL byte)"));
    return out;
  }
  if (auto bad = utf8::first_invalid(text); bad != std::string_view::npos) {
    out.diagnostics.push_back(error_at(
      file, position_at(text, bad),
      fmt::format("invalid UTF-8 (byte 0x{:02X} at offset {}); save the file as UTF-8",
                  static_cast<unsigned char>(text[bad]), bad)));
    return out;
  }
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    out.diagnostics.push_back(error_at(file, {1, 1}, "the document is empty"));
    return out;
  }
  bool json_file = file.ends_with(".json");
  if (json_file || text[first] == '{' || text[first] == '[') {
    // JSON: let a JSON parser name JSON mistakes; YAML's words for them
    // mislead. A YAML file may start with a flow collection that is not
    // JSON: that one is read as YAML.
    json_syntax_check check;
    nlohmann::json::sax_parse(text.begin(), text.end(), &check);
    if (check.error && json_file) {
      out.diagnostics.push_back(error_at(file, position_at(text, check.offset),
                                         fmt::format("not valid JSON: {}", check.message)));
      return out;
    }
  }
  if (auto second = second_document_at(text)) {
    out.diagnostics.push_back(
      error_at(file, position_at(text, *second),
               "a second YAML document starts here; a definition file holds one document"));
    return out;
  }
  try {
    // YAML::LoadAll would tell the documents apart, but loops forever on
    // some malformed input: the markers were checked above instead.
    out.root = YAML::Load(std::string{text});
  } catch (const YAML::DeepRecursion& e) {
    out.diagnostics.push_back(error_at(
      file, {e.mark.line + 1, e.mark.column + 1},
      fmt::format("nesting deeper than {} levels; definitions are not nested that deeply",
                  e.depth() - 1)));
  } catch (const YAML::Exception& e) {
    source_position pos{};
    if (!e.mark.is_null())
      pos = {e.mark.line + 1, e.mark.column + 1};
    auto what = e.msg.empty() ? std::string{"unreadable"} : e.msg;
    out.diagnostics.push_back(error_at(file, pos, fmt::format("not valid YAML: {}", what)));
  } catch (const std::exception& e) {
    out.diagnostics.push_back(error_at(file, {}, fmt::format("cannot parse: {}", e.what())));
  }
  return out;
}

} // namespace meshflow::dsl::detail
