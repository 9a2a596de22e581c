#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meshflow::dsl {

/// `${ EXPR }` as a whole value: EXPR; otherwise nullopt (a literal).
std::optional<std::string_view> unwrap_expression(std::string_view text);

/// An expression made ready for libjq: `${ }` removed, the compatibility
/// rewrites of SEMANTICS.md applied, and facts the compiler needs.
struct prepared_expression {
  std::string source;                        // jq text
  std::vector<std::string> functions_called;  // names after `fn:`
  std::vector<std::string> warnings;         // rewrites made
  std::optional<std::string> error;          // unbalanced brackets or quotes
  bool calls_error = false;                  // uses jq's `error`
};

/// Scans `text` (jq, with or without `${ }`) once: rewrites single-quoted
/// literals (`'success'` becomes `"success"`, with a warning) and
/// `fn:NAME` calls (to `__mf_fn_K`, K from `function_index`), and checks
/// that brackets and strings are closed, so that the expression can be
/// compiled together with others without leaking into them.
prepared_expression
prepare_expression(std::string_view text,
                   const std::vector<std::string>& expression_functions);

} // namespace meshflow::dsl
