#include "meshflow/dsl/document.hpp"

#include <fmt/format.h>

#include "reader.hpp"
#include "text.hpp"

namespace meshflow::dsl {

expected<nlohmann::json> read_document(const std::filesystem::path& file,
                                       const load_options& options) {
  auto text = read_text(file, options.max_bytes);
  if (!text)
    return fail("document", text.error().message);
  return parse_document(*text, file.string(), options);
}

expected<nlohmann::json> parse_document(std::string_view text, const std::string& name,
                                        const load_options& options) {
  if (text.size() > options.max_bytes)
    return fail("document", fmt::format("{} is {} bytes; documents are limited to {} bytes",
                                        name, text.size(), options.max_bytes));
  auto parsed = detail::parse_document(text, name);
  std::optional<nlohmann::json> out;
  if (parsed.root) {
    source_map positions;
    detail::read_context ctx{name, parsed.diagnostics, positions, options.max_nodes};
    try {
      out = detail::to_json(ctx, *parsed.root, "");
    } catch (const std::exception& e) {
      return fail("document", fmt::format("{}: {}", name, e.what()));
    }
  }
  for (const auto& d : parsed.diagnostics)
    if (d.severity == severity::error)
      return fail("document", to_string(d));
  if (!out)
    return fail("document", fmt::format("{}: cannot be read", name));
  return *out;
}

} // namespace meshflow::dsl
