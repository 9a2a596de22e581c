#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "meshflow/dsl/diagnostic.hpp"
#include "meshflow/dsl/jq.hpp"
#include "meshflow/dsl/model.hpp"

namespace meshflow::dsl {

/// Where a flow goes: a state index, or the end of the workflow.
struct flow_target {
  static constexpr std::size_t end = static_cast<std::size_t>(-1);
  std::size_t state = end;
};

/// A deployed workflow version, ready to run: immutable, shared by all its
/// instances. States are resolved to indices, every expression of the
/// definition is compiled (once, together: see jq.hpp), and definitions are
/// indexed by name. Nothing is parsed or compiled per instance or per step.
struct plan {
  std::shared_ptr<const dsl::workflow> definition;
  std::shared_ptr<const jq::program> expressions;
  std::size_t start_state = 0;

  std::unordered_map<std::string, std::size_t> state_index;
  std::unordered_map<std::string, std::size_t> function_index;
  std::unordered_map<std::string, std::size_t> event_index;
  std::unordered_map<std::string, std::size_t> error_index;
  std::unordered_map<std::string, std::size_t> retry_index;

  /// The compiled expression at a definition path that holds one, e.g.
  /// `states[2].dataConditions[0].condition`,
  /// `states[0].actions[1].functionRef.arguments.name`, or
  /// `functions[3].operation` for an expression function.
  std::unordered_map<std::string, jq::expression_id> expression_at;

  std::optional<jq::expression_id> expression(std::string_view path) const {
    auto it = expression_at.find(std::string{path});
    if (it == expression_at.end())
      return std::nullopt;
    return it->second;
  }

  /// The target of a state's, condition's or handler's flow.
  flow_target target(const flow& f) const;
};

struct compile_options {
  /// Where `$SECRETS` values come from; by default the environment variable
  /// of the same name. Absent secrets are null.
  std::function<std::optional<std::string>(const std::string&)> secret;
};

struct compile_result {
  std::shared_ptr<const dsl::plan> plan;
  std::vector<diagnostic> diagnostics;  // expression errors and warnings
};

/// Compiles a definition that `check_references` found sound.
compile_result compile(std::shared_ptr<const workflow> definition,
                       const compile_options& options = {});

} // namespace meshflow::dsl
