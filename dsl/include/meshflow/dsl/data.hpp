#pragma once

#include "meshflow/dsl/jq.hpp"
#include "meshflow/error.hpp"

namespace meshflow::dsl {

/// "Data Merging" as SEMANTICS.md reads it: objects merge key by key, the
/// incoming side winning on a shared key, recursively; arrays concatenate,
/// keeping the incoming elements not already present; numbers, strings,
/// booleans and null overwrite; values of different kinds: the incoming
/// value replaces the old one.
jq::value merge(const jq::value& current, const jq::value& incoming);

/// Merges `incoming` at `path` (a jq path, the output of `path(EXPR)`: an
/// array of keys and indices) inside `data`, creating missing objects on
/// the way (`toStateData`). An empty path merges at the top, where a value
/// that is not an object is an error with code `merge`.
expected<jq::value> merge_at(const jq::value& data, const jq::value& path,
                             const jq::value& incoming);

} // namespace meshflow::dsl
