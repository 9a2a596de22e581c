#pragma once

// The payload schema of an AsyncAPI message, compiled once with valijson
// (JSON Schema draft 7, which AsyncAPI 2.x schema objects extend) and
// checked against each event a workflow produces or consumes.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/dsl/diagnostic.hpp"

namespace valijson {
class Schema;
}

namespace meshflow::catalog {

struct schema_compilation;

/// A compiled payload schema. Cheap to copy (the compiled form is shared and
/// immutable), safe to use from several threads.
class payload_schema {
public:
  /// Most levels of schema nesting, `$ref`s followed: deeper schemas are
  /// refused, as valijson's parser and validator recurse once per level.
  static constexpr std::size_t max_depth = 64;

  /// Compiles the schema at `at` in `document` (an AsyncAPI document, or a
  /// schema document when `at` is empty). Local `$ref`s (`#/components/
  /// schemas/X`, any JSON pointer) resolve against `document`; refs that
  /// leave the document are not fetched. At most `max_nodes` values are
  /// copied and refs followed (refs can make a small document name a huge
  /// schema). Never throws: valijson's exceptions become problems.
  static schema_compilation compile(const nlohmann::json& document,
                                    const nlohmann::json::json_pointer& at = nlohmann::json::json_pointer{},
                                    std::size_t max_nodes = 1'000'000);

  /// What is wrong with `payload`, one `PATH: WHY` per violation (`PATH`
  /// as valijson names it, `<root>[customer][id]`); empty when it is
  /// valid.
  std::vector<std::string> violations(const nlohmann::json& payload) const;

  /// The schema as compiled: one document whose `definitions` hold the
  /// schema (`"0"`) and every schema it refers to, refs rewritten to them.
  const nlohmann::json& source() const { return *source_; }

private:
  std::shared_ptr<const valijson::Schema> schema_;
  std::shared_ptr<const nlohmann::json> source_;
};

/// Why a schema is not compiled, and where in its document.
struct schema_problem {
  /// The value at fault (a `$ref`, the schema itself).
  nlohmann::json::json_pointer at = nlohmann::json::json_pointer{};
  /// `error`: the schema is broken (a `$ref` cycle, nesting too deep, a
  /// keyword valijson cannot use); `warning`: it names what is not there
  /// (an unresolvable or non-local `$ref`), so nothing is checked.
  dsl::severity severity = dsl::severity::error;
  std::string message;
};

/// The outcome of `payload_schema::compile`: a schema exactly when there
/// are no problems.
struct schema_compilation {
  std::optional<payload_schema> schema;
  std::vector<schema_problem> problems;
  /// The values copied and refs followed: the work done, for a caller
  /// that bounds the work of several compilations.
  std::size_t nodes = 0;
};

} // namespace meshflow::catalog
