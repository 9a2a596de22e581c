#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "meshflow/dsl/diagnostic.hpp"
#include "meshflow/dsl/load.hpp"
#include "meshflow/dsl/model.hpp"
#include "meshflow/dsl/plan.hpp"

namespace meshflow::dsl {

/// The checks the JSON schema cannot make: every reference resolves (states,
/// functions, events, errors, retries, compensatedBy, start), compensation
/// states are used only for compensation, state and definition names are
/// unique, every function has a type meshflow can bind. Their findings have
/// severity `findings`; unreachable states are always warnings.
///
/// A deploy refuses a definition with any of these findings, so `meshflow
/// validate` reports them as errors. The specification's own examples break
/// these rules (examples 15, 20, 23, 24, 26 and 28 name functions, events or
/// states they do not define), and the 0.8 schema accepts such documents:
/// the schema-level reading (`validate --schema-only`) reports them as
/// warnings.
std::vector<diagnostic> check_references(const workflow& w, severity findings);

/// Everything `meshflow validate` does for one file: read, check, compile.
/// `options.strict` chooses the reading: by default a definition without
/// errors is one a deploy accepts (as far as a check without a network and
/// without the node's native functions can tell).
struct validation {
  std::shared_ptr<const dsl::plan> plan;  // when there is no error
  std::vector<diagnostic> diagnostics;
};

/// Whether the plan a validation compiles binds `$SECRETS`: `meshflow
/// validate` never reads them; a deploy reads each from the environment.
enum class secret_values { unread, from_environment };

validation validate_file(const std::filesystem::path& file, const load_options& options = {},
                         secret_values secrets = secret_values::unread);

/// The same for a definition in memory; `file` names it in diagnostics and
/// `base_dir` resolves its file references.
validation validate_text(std::string_view text, std::string file,
                         const std::filesystem::path& base_dir, const load_options& options = {},
                         secret_values secrets = secret_values::unread);

} // namespace meshflow::dsl
