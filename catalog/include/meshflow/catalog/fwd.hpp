#pragma once

// Declarations of the catalog module's main types, for headers that only
// name them.

namespace meshflow::catalog {

enum class direction;
struct bound_operation;
struct channel;
struct components;
struct document_source;
struct message;
struct operation;
struct operation_conflict;
struct operation_reference;
struct read_result;
struct registration;
struct schema_compilation;
struct schema_problem;
struct server;
struct service;
class payload_schema;
class service_catalog;

} // namespace meshflow::catalog
