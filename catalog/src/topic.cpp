#include "meshflow/catalog/topic.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace meshflow::catalog {

std::string topic_for_channel(std::string_view channel_name) {
  std::string topic{channel_name};
  std::replace(topic.begin(), topic.end(), '/', '.');
  return topic;
}

std::optional<std::string> kafka_topic_problem(std::string_view topic) {
  // Kafka's own rule (org.apache.kafka.common.internals.Topic.validate).
  constexpr std::size_t longest = 249;
  if (topic.empty())
    return "a topic name cannot be empty";
  if (topic == "." || topic == "..")
    return fmt::format("'{}' cannot be a topic name", topic);
  if (topic.size() > longest)
    return fmt::format("a topic name has at most {} characters, not {}", longest,
                       topic.size());
  auto bad = std::find_if(topic.begin(), topic.end(), [](char c) {
    return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
             || c == '.' || c == '_' || c == '-');
  });
  if (bad != topic.end()) {
    auto u = static_cast<unsigned char>(*bad);
    auto shown = u < 0x20 || u >= 0x7f ? fmt::format("\\x{:02X}", u) : std::string(1, *bad);
    return fmt::format("'{}' holds '{}'; topic names hold only ASCII letters, digits, '.', "
                       "'_' and '-'",
                       topic, shown);
  }
  return std::nullopt;
}

} // namespace meshflow::catalog
