#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meshflow/dsl/diagnostic.hpp"
#include "meshflow/dsl/model.hpp"

namespace meshflow::dsl {

/// Limits that keep a hostile document from exhausting a node.
struct load_options {
  /// Largest document read, in bytes. Definitions travel as Kafka records,
  /// so they stay far below this.
  std::size_t max_bytes = 10 * 1024 * 1024;
  /// Most YAML nodes visited while reading, aliases expanded (a YAML alias
  /// bomb expands to billions).
  std::size_t max_nodes = 1'000'000;
  /// Which reading of a definition this is. `true` (the default, and what
  /// every deploy uses): findings that the 0.8 schema accepts but that would
  /// make a deploy fail (`end: false` with no transition, an expression
  /// language meshflow does not evaluate, and the findings of
  /// `check_references`) are errors, so that a definition without errors
  /// deploys. `false`: the schema-level reading of `meshflow validate
  /// --schema-only`, where they are warnings that say the deploy will fail;
  /// only what the schema (or the specification's text) rules out is an
  /// error.
  bool strict = true;
};

/// The result of reading a document: the definition when its structure could
/// be read, and every finding, errors and warnings.
struct load_result {
  std::optional<dsl::workflow> workflow;
  std::vector<diagnostic> diagnostics;
};

/// Reads a workflow definition (YAML or JSON) and checks what the 0.8 JSON
/// schema checks: types, required properties, enums, one-of choices, unknown
/// properties. Definitions given by file reference (`"functions":
/// "functiondefs.json"`) are loaded relative to the file. No input, however
/// broken, throws.
load_result load_workflow_file(const std::filesystem::path& file,
                               const load_options& options = {});

/// As `load_workflow_file`, for a document in memory; `file` names it in
/// diagnostics and `base_dir` resolves file references.
load_result load_workflow_text(std::string_view text, std::string file,
                               const std::filesystem::path& base_dir,
                               const load_options& options = {});

} // namespace meshflow::dsl
