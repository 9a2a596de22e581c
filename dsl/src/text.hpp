#pragma once

// From bytes to a YAML node tree: size limit, UTF-8, JSON syntax errors
// reported as JSON errors, YAML errors with their line, never an exception.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include "meshflow/dsl/diagnostic.hpp"
#include "meshflow/error.hpp"

namespace meshflow::dsl::detail {

struct parsed_document {
  std::optional<YAML::Node> root;
  std::vector<diagnostic> diagnostics;
};

/// Parses YAML or JSON text (JSON is told by its first character).
parsed_document parse_document(std::string_view text, const std::string& file);

/// Line and column (1-based) of byte `offset` in `text`.
source_position position_at(std::string_view text, std::size_t offset);

} // namespace meshflow::dsl::detail
