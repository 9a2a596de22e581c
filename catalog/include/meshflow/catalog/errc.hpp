#pragma once

// The error codes meshflow::catalog puts in `meshflow::error::code`.

namespace meshflow::catalog::errc {

/// A reference that is not `DOC#operationId` (SEMANTICS.md, "Functions"
/// and "Events"); the message shows the form.
inline constexpr char reference[] = "reference";

/// Nothing in the catalog answers a reference: no document of that name is
/// registered and no service defines the operationId. The caller may look
/// for the document beside the workflow (`read_referenced_document`).
inline constexpr char not_found[] = "not_found";

/// The document the reference names is registered but has no operation
/// of that id (the message suggests the closest one).
inline constexpr char no_operation[] = "no_operation";

/// Several services define the operationId and the reference does not
/// tell them apart; the message names them and the form that does.
inline constexpr char conflict[] = "conflict";

/// The operation's channel maps to a name Kafka refuses as a topic.
inline constexpr char topic[] = "topic";

/// A payload schema that cannot be compiled (see `payload_schema`).
inline constexpr char schema[] = "schema";

} // namespace meshflow::catalog::errc
