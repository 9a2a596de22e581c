#include "meshflow/dsl/document.hpp"

#include <fmt/format.h>

#include "reader.hpp"
#include "text.hpp"

namespace meshflow::dsl {

expected<nlohmann::json> read_document(const std::filesystem::path& file,
                                       const load_options& options) {
  auto text = detail::read_file(file, options.max_bytes);
  if (!text)
    return fail("document", text.error().message);
  std::vector<diagnostic> diagnostics;
  auto parsed = detail::parse_document(*text, file.string());
  std::optional<nlohmann::json> out;
  if (parsed.root) {
    source_map positions;
    detail::read_context ctx{file.string(), parsed.diagnostics, positions, options.max_nodes};
    try {
      out = detail::to_json(ctx, *parsed.root, "");
    } catch (const std::exception& e) {
      return fail("document", fmt::format("{}: {}", file.string(), e.what()));
    }
  }
  for (const auto& d : parsed.diagnostics)
    if (d.severity == severity::error)
      return fail("document", to_string(d));
  if (!out)
    return fail("document", fmt::format("{}: cannot be read", file.string()));
  return *out;
}

} // namespace meshflow::dsl
