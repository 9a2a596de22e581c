#include "meshflow/actors/correlation.hpp"

#include <fmt/format.h>

namespace meshflow::actors {

std::optional<std::string> correlate(const dsl::event_def& d, const transport::cloud_event& e,
                                     const correlation_values& recorded, std::string_view bound,
                                     std::string_view channel) {
  if (!bound.empty() ? bound != channel
                     : d.type != e.type || (d.source && *d.source != e.source))
    return std::nullopt;
  std::string key;
  for (const auto& c : d.correlation) {
    auto value = e.attribute(c.context_attribute_name);
    if (!value)
      return std::nullopt;
    if (c.context_attribute_value && *c.context_attribute_value != *value)
      return std::nullopt;
    for (const auto& [name, seen] : recorded)
      if (name == c.context_attribute_name && seen != *value)
        return std::nullopt;
    key += fmt::format("{}={};", c.context_attribute_name, *value);
  }
  return key;
}

} // namespace meshflow::actors
