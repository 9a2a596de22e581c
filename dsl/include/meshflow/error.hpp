#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace meshflow {

/// A failure with a machine-readable `code` and a message for people.
///
/// Codes are strings because Serverless Workflow error definitions match
/// them as strings (`"503"`, `"timeout"`, a user's `error("X")`); see
/// SEMANTICS.md, "Errors, retries, timeouts".
struct error {
  std::string code;
  std::string message;
};

/// A value or the error that prevented it.
template <class T>
using expected = tl::expected<T, error>;

/// Builds the unexpected side of an `expected`.
inline tl::unexpected<error> fail(std::string code, std::string message) {
  return tl::unexpected<error>{error{std::move(code), std::move(message)}};
}

} // namespace meshflow
