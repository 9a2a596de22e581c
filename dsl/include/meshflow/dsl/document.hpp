#pragma once

#include <filesystem>
#include <string>
#include <string_view>

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

} // namespace meshflow::dsl
