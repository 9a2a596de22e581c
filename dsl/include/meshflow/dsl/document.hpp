#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/dsl/load.hpp"
#include "meshflow/error.hpp"

namespace meshflow::dsl {

/// The whole file as text, unless it is a directory, unreadable, or larger
/// than `max_bytes`; the error (code `io`) names the file.
expected<std::string> read_text(const std::filesystem::path& file,
                                std::size_t max_bytes = load_options{}.max_bytes);

/// A JSON or YAML document (an OpenAPI or AsyncAPI description, a data
/// file) as JSON, read with the same limits and checks as a workflow
/// definition. The error (code `document`) names the file, line and column.
expected<nlohmann::json> read_document(const std::filesystem::path& file,
                                       const load_options& options = {});

/// The same for a document in memory (fetched over HTTP, say); `name`
/// names it in errors.
expected<nlohmann::json> parse_document(std::string_view text, const std::string& name,
                                        const load_options& options = {});

struct located_document;

/// Where the values of a document were written, so that a reader of a
/// language other than workflows (AsyncAPI) reports its findings at
/// FILE:LINE:COL as `meshflow validate` does. Positions are looked up on
/// demand in the parsed tree, which is indexed along the paths looked up
/// only: no map of every value is built, however large the document.
/// Copies share the tree; lookups may come from several threads.
class document_positions {
public:
  /// No positions: every lookup answers 0:0.
  document_positions() = default;

  /// The position of the value `pointer` names, or of its nearest enclosing
  /// value when the document does not hold it.
  source_position find(const nlohmann::json::json_pointer& pointer) const;

private:
  friend located_document parse_located_document(std::string_view, const std::string&,
                                                 const load_options&);
  struct tree;
  std::shared_ptr<tree> tree_;
};

/// A document read as JSON together with where its values were written:
/// for readers that check a document's content themselves and report each
/// finding where it is.
struct located_document {
  /// The document, unless reading the text failed (`diagnostics` say why).
  std::optional<nlohmann::json> value;
  dsl::document_positions positions;
  /// The findings of reading the text (size, NUL, UTF-8, JSON and YAML
  /// syntax, nesting depth, node budget): the same checks, with the same
  /// messages, as `parse_document` and workflow definitions.
  std::vector<diagnostic> diagnostics;
};

/// Reads `text` (JSON or YAML) as JSON with positions; `name` names it in
/// diagnostics. Never throws.
located_document parse_located_document(std::string_view text, const std::string& name,
                                        const load_options& options = {});

} // namespace meshflow::dsl
