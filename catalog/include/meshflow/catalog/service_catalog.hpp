#pragma once

// The registry of the services workflows bind to, and the binding of a
// workflow's AsyncAPI references to Kafka topics.
//
// How a document becomes a binding:
//
//  1. `service_catalog::add(name, text)` reads the document
//     (`read_asyncapi`, asyncapi.cpp): dsl reads the text with positions
//     (`dsl::parse_located_document`), `$ref`s are followed (refs.cpp),
//     each channel gets its topic (topic.cpp) and each operation its
//     direction, each message payload schema is compiled
//     (payload_schema.cpp). A document with errors is refused; its
//     diagnostics say why.
//  2. The service is stored under its id (the document's `id`, else
//     `info.title`), replacing an earlier document of the same service.
//     An operationId that another service defines too is a warning (a
//     conflict): it is kept, not shadowed, and lookups that cannot tell the
//     two apart fail with `errc::conflict` naming both.
//  3. `resolve("file://orderService.yaml#sendOrder")` (reference.cpp,
//     service_catalog.cpp) finds the operation: among the documents whose
//     base name is `orderService.yaml` when one is registered, else by the
//     operationId in the whole catalog; the `bound_operation` carries the
//     topic, the direction and the messages with their compiled schemas.
//     When nothing answers (`errc::not_found`), the caller reads the
//     document beside the workflow (`read_referenced_document`), adds it
//     and resolves again.
//
// A catalog is a value: not synchronised, cheap to copy (services are
// shared, immutable), rebuilt from (name, text) pairs (`rebuild`), as the
// catalog topic keeps them.

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/catalog/asyncapi.hpp"
#include "meshflow/catalog/reference.hpp"
#include "meshflow/dsl/diagnostic.hpp"
#include "meshflow/error.hpp"

namespace meshflow::catalog {

/// A document as the catalog keeps it: its name and its text.
struct document_source {
  std::string name;
  std::string text;
};

/// The outcome of registering a document.
struct registration {
  /// The id of the service the document describes, when it could be read.
  std::optional<std::string> service_id;
  /// Whether the service is now in the catalog (false: the document has
  /// errors).
  bool registered = false;
  /// Whether it replaced an earlier document of the same service.
  bool replaced = false;
  /// The document's findings, then the catalog's (conflicts) as warnings.
  std::vector<dsl::diagnostic> diagnostics;
};

/// An operationId that several services define.
struct operation_conflict {
  std::string operation_id;
  /// The services, by id, in id order.
  std::vector<std::string> service_ids;
};

/// An operation a workflow reference is bound to: what the engine needs to
/// produce to or consume from Kafka, owned (it stays valid when the catalog
/// changes).
struct bound_operation {
  /// The reference as the workflow wrote it.
  std::string reference;
  std::string service_id;
  /// The document's name, as registered.
  std::string document;
  /// Topic, direction, channel, messages (payload schemas, Kafka key).
  catalog::operation operation;
};

/// The binding as JSON (for `meshflow validate` and the CLI): reference,
/// service, document, operationId, direction, channel, topic, messages.
nlohmann::json to_json(const bound_operation& b);

/// The registry of AsyncAPI documents, by service id. See the top of this
/// file for how a document becomes a binding.
class service_catalog {
public:
  /// The result of `rebuild`.
  struct rebuilt;

  /// Reads and registers a document. Refused (nothing changes) when it has
  /// errors; a document of a service already registered replaces it.
  registration add(std::string name, std::string_view text,
                   const dsl::load_options& options = {});

  /// Registers a service already read (`read_referenced_document`'s).
  registration add(service s);

  /// Removes a service; false when it was not registered.
  bool remove(std::string_view service_id);

  /// Every service, in id order.
  std::vector<std::shared_ptr<const service>> services() const;

  /// The service `service_id`, or null.
  std::shared_ptr<const service> find_service(std::string_view service_id) const;

  std::size_t size() const { return services_.size(); }
  bool empty() const { return services_.empty(); }

  /// The operation `operation_id` in the whole catalog. Errors:
  /// `errc::not_found` (with the closest operationId as a suggestion),
  /// `errc::conflict` when several services define it.
  expected<bound_operation> find_operation(std::string_view operation_id) const;

  /// The operation `operation_id` of the document named `document`
  /// (matched by base name, see `document_base_name`). When no registered
  /// document has that name, the operationId is looked up in the whole
  /// catalog, as above. Errors: `errc::no_operation` when the named
  /// document lacks it, `errc::conflict` when two registered documents of
  /// that name define it, and those of the form above.
  expected<bound_operation> find_operation(std::string_view document,
                                           std::string_view operation_id) const;

  /// Binds a workflow's reference (`file://orderService.yaml#sendOrder`,
  /// `orderService.yaml#sendOrder`, `URI#operationId`, `#operationId`):
  /// `parse_reference`, then `find_operation`; also `errc::topic` when the
  /// channel maps to a name Kafka refuses. Error messages start with the
  /// reference.
  expected<bound_operation> resolve(std::string_view reference) const;

  /// Every operationId that several services define, in id order.
  std::vector<operation_conflict> conflicts() const;

  /// The registered documents, in service id order: what the catalog
  /// topic keeps.
  std::vector<document_source> sources() const;

  /// A catalog from documents in the order given (a later document of the
  /// same service replaces an earlier one, as when the catalog topic is read
  /// from its start), with every finding.
  static rebuilt rebuild(const std::vector<document_source>& documents,
                         const dsl::load_options& options = {});

private:
  std::map<std::string, std::shared_ptr<const service>, std::less<>> services_;
};

struct service_catalog::rebuilt {
  service_catalog catalog;
  std::vector<dsl::diagnostic> diagnostics;
};

/// The services as `meshflow catalog ls` prints them: id, document name,
/// title, version, operation count.
nlohmann::json to_json(const service_catalog& c);

} // namespace meshflow::catalog
