#pragma once

#include "meshflow/transport/cloud_event.hpp"

namespace meshflow::transport::testing {

/// An event with every attribute set, extensions and JSON data.
inline cloud_event full_event() {
  return cloud_event{
    .id = "order-42",
    .source = "/services/store",
    .specversion = "1.0",
    .type = "com.example.order.created",
    .datacontenttype = "application/json",
    .dataschema = "https://example.com/schemas/order.json",
    .subject = "orders/42",
    .time = "2024-05-01T12:30:00Z",
    .extensions = {{"partitionkey", "customer-7"},
                   {"workflowinstanceid", "wf-1"},
                   {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}},
    .data = R"({"items":[1,2,3],"total":9.5})",
  };
}

/// An event with only the required attributes and no data.
inline cloud_event minimal_event() {
  return cloud_event{.id = "1", .source = "/s", .type = "t"};
}

} // namespace meshflow::transport::testing
