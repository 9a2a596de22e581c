#pragma once

// What meshflow reads of an AsyncAPI 2.x document: the service it
// describes, its channels and the Kafka topics they map to, its operations
// with the direction they have for a workflow, their messages and payload
// schemas. A document is read from its text and a name (the file name, or
// the name it was registered under), so that the same reading serves a file,
// a CLI argument and a record of the catalog topic.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "meshflow/catalog/payload_schema.hpp"
#include "meshflow/dsl/diagnostic.hpp"
#include "meshflow/dsl/load.hpp"

namespace meshflow::catalog {

/// Which way events flow between a workflow and a channel, seen from the
/// workflow.
///
/// AsyncAPI 2.x describes a service from the point of view of its users:
/// an operation under `publish` says that others publish to the channel (the
/// service receives), one under `subscribe` that others subscribe to it (the
/// service sends). A workflow is one of those others, so, as EventMesh maps
/// it (examples/store-order/README.md): `publish` -> the workflow
/// **produces** to the channel's topic; `subscribe` -> the workflow
/// **consumes** from it.
enum class direction { produce, consume };

/// `"produce"` or `"consume"`.
std::string_view to_string(direction d);

/// A server of the document (`servers.NAME`).
struct server {
  std::string name;
  std::string url;
  std::string protocol;
  std::optional<std::string> protocol_version;
};

/// A message an operation carries.
struct message {
  /// Its `name`, else its key under `components.messages`, else the last
  /// part of the `$ref` that could not be resolved; empty for an inline
  /// message without a name.
  std::string name;
  /// `contentType`, else the document's `defaultContentType`.
  std::optional<std::string> content_type;
  /// The payload schema as written (its top-level `$ref` followed), when
  /// there is one.
  std::optional<nlohmann::json> payload;
  /// The payload schema compiled; absent when there is no payload, when it
  /// or a `$ref` in it cannot be resolved (a warning said so), or when its
  /// `schemaFormat` is not JSON Schema. Without it nothing is checked.
  std::optional<payload_schema> schema;
  /// `bindings.kafka.key`: the schema of the record key (Kafka bindings).
  std::optional<nlohmann::json> kafka_key;
  /// `bindings.kafka` as written, null when there is none.
  nlohmann::json kafka_binding;

  /// What is wrong with `payload` for this message (`PATH: WHY` each);
  /// empty when it is valid or when the message has no schema.
  std::vector<std::string> violations(const nlohmann::json& payload) const;
};

/// An operation (`channels.NAME.publish` / `.subscribe`), by which
/// workflows bind to a channel.
struct operation {
  /// `operationId`: what workflows name (`file://DOC#operationId`).
  std::string id;
  catalog::direction direction = direction::produce;
  /// The channel's name and the Kafka topic it maps to.
  std::string channel;
  std::string topic;
  std::optional<std::string> summary;
  /// `bindings.kafka` of the operation (`groupId`, `clientId`), null when
  /// there is none.
  nlohmann::json kafka_binding;
  /// Its message, or the messages of `message.oneOf`; empty when it names
  /// none.
  std::vector<catalog::message> messages;
  /// Where `operationId` was written: definition path and file position.
  std::string path;
  dsl::source_position position;

  /// What is wrong with `payload` for this operation: nothing when one of
  /// its messages accepts it (or one cannot check it, or there is none);
  /// else the violations of its message (of each, named, for `oneOf`).
  /// The engine checks every event it produces (a violation is an error of
  /// the action) and consumes (the record goes to the dead-letter topic).
  std::vector<std::string> violations(const nlohmann::json& payload) const;
};

/// A channel (`channels.NAME`).
struct channel {
  std::string name;
  /// `bindings.kafka.topic` when present, else `topic_for_channel(name)`.
  std::string topic;
  /// `bindings.kafka` of the channel, null when there is none.
  nlohmann::json kafka_binding;
  /// The operationIds of its `publish` and `subscribe` operations.
  std::vector<std::string> operations;
};

/// `components`: what the document defines once and refers to by `$ref`.
struct components {
  std::map<std::string, catalog::message> messages;
  /// Schemas, channel/operation/message bindings: as written.
  std::map<std::string, nlohmann::json> schemas;
  std::map<std::string, nlohmann::json> channel_bindings;
  std::map<std::string, nlohmann::json> operation_bindings;
  std::map<std::string, nlohmann::json> message_bindings;
};

/// A service: what one AsyncAPI document describes. An immutable value once
/// read; the catalog shares it between lookups.
struct service {
  /// The document's `id` when it has one, else `info.title`: the key of the
  /// service in the catalog (and of its record on the catalog topic).
  std::string id;
  /// The name the document was read or registered under (a file name or
  /// path); references match it by its base name.
  std::string name;
  /// The document's text, as registered: what the catalog topic keeps and
  /// `service_catalog::rebuild` reads again.
  std::string text;
  /// `asyncapi`, `id`, `info.title`, `info.version`.
  std::string asyncapi;
  std::optional<std::string> document_id;
  std::string title;
  std::string version;
  std::vector<catalog::server> servers;
  std::vector<catalog::channel> channels;
  /// Every operation of every channel, in the document's order.
  std::vector<catalog::operation> operations;
  catalog::components components;

  /// The operation `operation_id`, or null.
  const operation* find_operation(std::string_view operation_id) const;
};

/// The result of reading a document: the service when the document has no
/// errors, and every finding (errors and warnings) with FILE:LINE:COL and a
/// path (`channels.store/order.subscribe.operationId`), in the format of
/// `meshflow validate`.
struct read_result {
  std::optional<catalog::service> service;
  std::vector<dsl::diagnostic> diagnostics;
};

/// Reads an AsyncAPI 2.0.0–2.6.0 document, YAML or JSON, from its text;
/// `name` names it in diagnostics and becomes `service::name`. The text is
/// read with dsl's checks and limits (size, NUL, UTF-8, JSON syntax, YAML
/// depth and node budget). Never throws.
read_result read_asyncapi(std::string_view text, std::string name,
                          const dsl::load_options& options = {});

/// The same for a file; the path names it.
read_result read_asyncapi_file(const std::filesystem::path& file,
                               const dsl::load_options& options = {});

/// The service as `meshflow catalog show SERVICE` prints it: id, document
/// name, title, version, servers, channels with their topics, operations
/// with direction, channel, topic and messages (name, content type, payload
/// schema, whether it is checked, Kafka key).
nlohmann::json to_json(const service& s);

} // namespace meshflow::catalog
