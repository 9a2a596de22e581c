#pragma once

// Declarations of meshflow::transport's types, for headers that only name them.

#include <cstdint>

namespace meshflow::transport {

struct cloud_event;

struct kafka_header;
struct kafka_message;
struct kafka_record;
struct kafka_topic_partition;
struct kafka_delivery;
struct kafka_group_metadata;
struct kafka_watermarks;
struct kafka_read_summary;
class kafka_producer;
class kafka_consumer;
class kafka_rebalance_listener;
class kafka_admin;
struct kafka_topic_spec;
struct engine_topic_settings;
struct engine_topics;
class embedded_cluster;
class dead_letter_queue;

namespace kafka_binding {
enum class content_mode : std::uint8_t;
} // namespace kafka_binding

} // namespace meshflow::transport

namespace io::cloudevents::v1 {
class CloudEvent;
} // namespace io::cloudevents::v1
