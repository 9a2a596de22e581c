#pragma once

// Local `$ref`s of a document: JSON pointers (RFC 6901, as URI fragments,
// RFC 3986 percent-encoding), chains of refs, cycles, and the closure of a
// payload schema (every schema it refers to, for valijson).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/catalog/payload_schema.hpp"
#include "meshflow/error.hpp"

namespace meshflow::catalog::detail {

using json = nlohmann::json;
using pointer = json::json_pointer;

/// The reference tokens of `p`, unescaped, from the root.
std::vector<std::string> tokens_of(const pointer& p);

/// The value `p` names in `doc`, or null. Never throws.
const json* find(const json& doc, const pointer& p);

/// `p` as a definition path for diagnostics:
/// `channels.store/order.subscribe.message.$ref`, `oneOf[1]`, and
/// `["a.b"]` for a key that holds `.`, brackets, quotes or spaces.
std::string display_path(const json& doc, const pointer& p);

/// `"an object"`, `"a string"`...: the kind of a value, for messages.
std::string_view kind_of(const json& v);

/// The pointer a local `$ref` names (`#/components/messages/Order`).
/// Errors: code `non_local` for a ref to another document, `malformed`
/// for a fragment that is not a JSON pointer.
expected<pointer> local_pointer(std::string_view ref);

/// Why `p` names nothing in `doc` ("'components' has no 'NewOrder'").
std::string why_missing(const json& doc, const pointer& p);

/// The end of a chain of `$ref`s.
struct followed {
  /// The value the chain ends at: `at` itself when it is no `$ref`.
  std::optional<pointer> target;
  /// Why it ends nowhere (then `target` is empty).
  std::optional<schema_problem> problem;
  /// The last `$ref` text followed, if any.
  std::string last_ref;
  /// How many refs were followed (the work done).
  std::size_t steps = 0;
};

/// Follows `$ref`s from `at` (which `doc` holds) until a value that is not
/// one. An unresolvable or non-local ref is a warning ending in
/// `consequence` (what the reader does without it); a cycle, or a `$ref`
/// that is not a string, is an error.
followed follow(const json& doc, const pointer& at, std::string_view consequence);

/// A payload schema and everything it refers to, as one document valijson
/// can compile safely: `{"$ref": "#/definitions/0", "definitions": {"0":
/// SCHEMA, "1": ...}}`, every `$ref` at a schema position rewritten to its
/// definition, `$id`s dropped (the rewritten refs are absolute already).
/// `document` is absent when there are problems.
struct schema_closure {
  std::optional<json> document;
  std::vector<schema_problem> problems;
  /// Where definition N came from in the original document.
  std::vector<pointer> origins;
  /// The values copied and refs followed (the work done).
  std::size_t nodes = 0;
};

/// At most `max_depth` levels of nesting, refs followed; at most
/// `max_nodes` values copied or refs followed in all.
schema_closure close_schema(const json& doc, const pointer& at, std::size_t max_depth,
                            std::size_t max_nodes);

} // namespace meshflow::catalog::detail
