#include "meshflow/dsl/diagnostic.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace meshflow::dsl {

namespace {

std::string_view name_of(severity s) {
  return s == severity::error ? "error" : "warning";
}

/// One line, whatever the document held: control characters are escaped.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out;
}

} // namespace

std::string to_string(const diagnostic& d) {
  auto path = d.path.empty() ? std::string{} : fmt::format("{}: ", printable(d.path));
  return fmt::format("{}:{}:{}: {}: {}{}", printable(d.file), d.position.line,
                     d.position.column, name_of(d.severity), path, printable(d.message));
}

std::string to_json(const std::vector<diagnostic>& ds) {
  auto out = nlohmann::json::array();
  for (const auto& d : ds)
    out.push_back({{"file", d.file},
                   {"line", d.position.line},
                   {"column", d.position.column},
                   {"severity", name_of(d.severity)},
                   {"path", d.path},
                   {"message", d.message}});
  // Replace, rather than throw on, bytes of a file name that are not UTF-8.
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool has_errors(const std::vector<diagnostic>& ds) {
  return std::any_of(ds.begin(), ds.end(), [](const diagnostic& d) {
    return d.severity == severity::error;
  });
}

} // namespace meshflow::dsl
