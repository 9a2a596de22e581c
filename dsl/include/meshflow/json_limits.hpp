#pragma once

// Bounds on every JSON document that enters meshflow from outside: workflow
// inputs, CloudEvents, REST responses, Kafka records. A document is checked
// *before* anything parses it, by a scan that does not recurse, so that a
// 100,000-level `{"a":{"a":...}}` or a 64 MB input is refused with a message
// instead of overflowing a recursive parser's stack or a node's memory.
//
// The defaults are a node's settings (`meshflow node --json-max-bytes
// --json-max-depth`, docs/node.md):
//  - 1 MiB, Kafka's default largest record (`message.max.bytes`), so that
//    whatever a node accepts can also travel on Kafka;
//  - 256 levels, libjq 1.6's own parsing limit: a deeper document could not
//    reach a jq expression anyway.

#include <cstddef>
#include <string_view>

#include "meshflow/error.hpp"

namespace meshflow {

struct json_limits {
  /// libjq 1.6 parses no deeper than this.
  static constexpr std::size_t deepest = 256;

  std::size_t max_bytes = std::size_t{1} << 20;
  std::size_t max_depth = deepest;
};

/// Whether `text` is within `limits`: at most `max_bytes` long, and its
/// arrays and objects nested at most `max_depth` deep (brackets inside
/// strings do not count). The error has code `limit` and says which limit
/// `what` (e.g. "the input", "event e-17") broke and by how much. It does not
/// check that `text` is JSON: the parser that follows does.
expected<void> check_json(std::string_view text, const json_limits& limits,
                          std::string_view what);

} // namespace meshflow
