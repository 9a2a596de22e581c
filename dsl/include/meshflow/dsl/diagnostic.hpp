#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace meshflow::dsl {

/// A place in a source document; 1-based, 0 when unknown.
struct source_position {
  int line = 0;
  int column = 0;
};

enum class severity { error, warning };

/// One finding about a definition: what is wrong, and where, both in the file
/// (line and column) and in the definition (`states[2].onErrors[0].transition`).
struct diagnostic {
  std::string file;
  source_position position;
  dsl::severity severity = severity::error;
  std::string path;
  std::string message;
};

/// `FILE:LINE:COL: error|warning: PATH: MESSAGE`, the format of SEMANTICS.md.
std::string to_string(const diagnostic& d);

/// The JSON array of `meshflow validate --format json`: objects with keys
/// `file, line, column, severity, path, message`.
std::string to_json(const std::vector<diagnostic>& ds);

/// True when any diagnostic is an error.
bool has_errors(const std::vector<diagnostic>& ds);

} // namespace meshflow::dsl
