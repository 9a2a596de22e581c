#pragma once

// How a deploy finds the AsyncAPI operations a definition names
// (SEMANTICS.md, "Events" and "Functions"): an `asyncapi` event's `source`
// and an `asyncapi` function's `operation`, both `DOC#operationId`.
//
//  1. The reference is resolved in the node's catalog, as it stood when the
//     deploy began (`service_catalog::resolve`: by the document's base name
//     when one of that name is registered, else by the operationId).
//  2. When nothing there answers (`catalog::errc::not_found`), the document
//     is read from beside the workflow (`read_referenced_document`); a
//     document read there is added to this lookup's copy of the catalog, so
//     that the definition's other references find it too, and kept in
//     `found()`: the deploy hands those to the admin, which registers them
//     in the catalog (with a notice) once the deploy succeeded.
//  3. The operation's direction must be the one the workflow needs: a
//     produced event and a function publish to a `publish` operation, a
//     consumed event is read from a `subscribe` one (catalog::direction).
//
// A lookup belongs to one deploy, on the deployer's thread; it may block
// (it reads files).

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "meshflow/catalog/service_catalog.hpp"
#include "meshflow/error.hpp"

namespace meshflow::actors {

/// The AsyncAPI operations of one deploy, looked up as the top of this file
/// says.
class operation_lookup {
public:
  /// Looks in `catalog` (null: an empty one), then in `workflow_dir`.
  operation_lookup(std::shared_ptr<const catalog::service_catalog> catalog,
                   std::filesystem::path workflow_dir);

  /// The operation `reference` names, for `what` (`event 'NewOrderEvent'`,
  /// `function 'notify'`: error messages start with it), which the
  /// workflow uses in direction `needed`. Errors (code `deploy`): the
  /// reference is malformed, the operation is in neither place (the
  /// message names it and its document), the document beside the
  /// workflow is broken (its diagnostics, FILE:LINE:COL), the operation
  /// goes the other way, its channel maps to no legal topic.
  expected<catalog::bound_operation> bind(std::string_view what, std::string_view reference,
                                          catalog::direction needed);

  /// The documents read from beside the workflow, in the order they were
  /// found: to be registered in the node's catalog.
  const std::vector<catalog::document_source>& found() const { return found_; }

private:
  expected<catalog::bound_operation> resolve(std::string_view what, std::string_view reference);

  catalog::service_catalog catalog_;
  std::filesystem::path workflow_dir_;
  std::vector<catalog::document_source> found_;
};

} // namespace meshflow::actors
