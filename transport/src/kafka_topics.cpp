#include "meshflow/transport/kafka_topics.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "meshflow/transport/errc.hpp"

namespace meshflow::transport {

namespace {

// Kafka's own limit is 249 characters for a topic name; the longest role
// suffix is ".definitions" (12).
constexpr std::size_t max_cluster_name = 249 - 12;

bool legal_topic_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || c == '.' || c == '_' || c == '-';
}

std::string ms(std::chrono::milliseconds duration) {
  return std::to_string(duration.count());
}

} // namespace

expected<engine_topics> engine_topics::of(const engine_topic_settings& settings) {
  const std::string& cluster = settings.cluster;
  if (cluster.empty() || cluster.size() > max_cluster_name
      || !std::all_of(cluster.begin(), cluster.end(), legal_topic_character))
    return fail(errc::arguments,
                fmt::format("cluster name \"{}\": it prefixes Kafka topic names, so it "
                            "must be 1 to {} letters, digits, '.', '_' or '-'",
                            cluster, max_cluster_name));
  if (settings.partitions < 1)
    return fail(errc::arguments,
                fmt::format("partitions {}: the commands, instances and history topics "
                            "need at least 1",
                            settings.partitions));
  if (settings.dlq_partitions < 1)
    return fail(errc::arguments, fmt::format("dlq partitions {}: at least 1 is needed",
                                             settings.dlq_partitions));
  if (settings.replication_factor < 1)
    return fail(errc::arguments,
                fmt::format("replication factor {}: at least 1 is needed",
                            settings.replication_factor));
  for (auto [name, retention] :
       {std::pair{"commands", settings.commands_retention},
        std::pair{"history", settings.history_retention},
        std::pair{"dlq", settings.dlq_retention}})
    if (retention.count() < 1)
      return fail(errc::arguments,
                  fmt::format("{} retention {} ms: it must be positive", name,
                              retention.count()));

  auto spec = [&](std::string_view role, std::int32_t partitions,
                  std::map<std::string, std::string> configs) {
    if (settings.replication_factor > 1)
      configs["min.insync.replicas"] = std::to_string(settings.replication_factor / 2 + 1);
    return kafka_topic_spec{fmt::format("{}.{}", cluster, role), partitions,
                            settings.replication_factor, std::move(configs)};
  };
  const std::int32_t p = settings.partitions;
  return engine_topics{
    .definitions = spec("definitions", 1, {{"cleanup.policy", "compact"}}),
    .catalog = spec("catalog", 1, {{"cleanup.policy", "compact"}}),
    .commands = spec("commands", p,
                     {{"cleanup.policy", "delete"},
                      {"retention.ms", ms(settings.commands_retention)}}),
    .instances = spec("instances", p, {{"cleanup.policy", "compact"}}),
    .history = spec("history", p,
                    {{"cleanup.policy", "delete"},
                     {"retention.ms", ms(settings.history_retention)}}),
    .events = spec("events", p,
                   {{"cleanup.policy", "delete"},
                    {"retention.ms", ms(settings.history_retention)}}),
    .dlq = spec("dlq", settings.dlq_partitions,
                {{"cleanup.policy", "delete"}, {"retention.ms", ms(settings.dlq_retention)}}),
  };
}

std::vector<kafka_topic_spec> engine_topics::all() const {
  return {definitions, catalog, commands, instances, history, events, dlq};
}

std::int32_t partition_for_key(std::string_view key, std::int32_t partitions) {
  // librdkafka's own murmur2 partitioner: it needs neither topic nor opaque.
  return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(),
                                          std::max(partitions, 1), nullptr, nullptr);
}

} // namespace meshflow::transport
