#pragma once

// Which instance a consumed CloudEvent belongs to (SEMANTICS.md, "Events"):
// the one correlation matcher of the project. The machine asks it whether an
// event is for its instance (to consume it, or to keep it until something
// waits for it); the admin asks it which instance an event starts or joins.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "meshflow/dsl/model.hpp"
#include "meshflow/transport/cloud_event.hpp"

namespace meshflow::actors {

/// Context attribute values recorded from the first event an instance
/// consumed, by attribute name (`instance::correlation`).
using correlation_values = std::vector<std::pair<std::string, std::string>>;

/// How `e` stands to the consumed event definition `d` for an instance that
/// recorded `recorded` (empty for an instance yet to be created): nothing
/// when `e` is not for it — another `type` or `source`, a correlation
/// attribute missing, or different from its `contextAttributeValue` or from
/// the value recorded for it — else the correlation key of `e`: its values
/// of `d`'s correlation attributes as `name=value;` in the definition's
/// order ("" when `d` has no correlation), the same for every event of one
/// instance.
///
/// A definition bound to a channel (`bound`, an AsyncAPI operation's topic:
/// `type: asyncapi`, `source: file://DOC#OPERATION`) matches the events
/// consumed from that channel (`channel`), whatever their own type and
/// source; the others match by type and source.
std::optional<std::string> correlate(const dsl::event_def& d, const transport::cloud_event& e,
                                     const correlation_values& recorded = {},
                                     std::string_view bound = {}, std::string_view channel = {});

} // namespace meshflow::actors
