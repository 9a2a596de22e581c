#pragma once

// How an AsyncAPI channel becomes a Kafka topic (DESIGN.md, "Kafka topics").

#include <optional>
#include <string>
#include <string_view>

namespace meshflow::catalog {

/// The topic of a channel that has no `bindings.kafka.topic`: its name
/// with `/` replaced by `.` (`store/order` -> `store.order`), because `/`
/// is the usual AsyncAPI separator and Kafka topic names cannot hold it.
std::string topic_for_channel(std::string_view channel_name);

/// Why Kafka would refuse `topic` as a topic name (empty, `.` or `..`,
/// longer than 249 characters, a character other than ASCII letters,
/// digits, `.`, `_` and `-`), or nothing when it is a legal name.
std::optional<std::string> kafka_topic_problem(std::string_view topic);

} // namespace meshflow::catalog
