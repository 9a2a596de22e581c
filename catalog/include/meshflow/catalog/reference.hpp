#pragma once

// How a workflow names an AsyncAPI operation (SEMANTICS.md, "Events" and
// "Functions"): an `asyncapi` function's `operation` and an `asyncapi`
// event's `source` are both `DOC#operationId`, where DOC is a file name
// (`file://orderService.yaml`), a relative path or a URI.

#include <filesystem>
#include <string>
#include <string_view>

#include "meshflow/catalog/asyncapi.hpp"
#include "meshflow/error.hpp"

namespace meshflow::catalog {

/// `DOC#operationId` taken apart.
struct operation_reference {
  /// The document part as written, `file://` removed (`orderService.yaml`,
  /// `specs/orderService.yaml`, `https://host/order.yaml`); empty for
  /// `#operationId`, which names the operation in the whole catalog.
  std::string document;
  std::string operation_id;
};

/// Splits a reference at its last `#`; the error (code `reference`) shows
/// the expected form.
expected<operation_reference> parse_reference(std::string_view text);

/// The name a document is matched by: the last part of its path or URI
/// (`file://specs/orderService.yaml` -> `orderService.yaml`), so that a
/// reference finds a document whatever folder it was registered from.
std::string document_base_name(std::string_view document);

/// Reads the document `ref` names from beside the workflow (relative to
/// `workflow_dir`; an absolute path as it is), for a reference the catalog
/// cannot answer (`errc::not_found`): the caller registers the service it
/// holds, with a notice. A document named by `http(s)://` is not fetched
/// here (an error diagnostic says so).
read_result read_referenced_document(const std::filesystem::path& workflow_dir,
                                     const operation_reference& ref,
                                     const dsl::load_options& options = {});

} // namespace meshflow::catalog
