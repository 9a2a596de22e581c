#include "meshflow/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace meshflow {

void log_to_stderr(std::string_view level) {
  auto logger = spdlog::stderr_logger_mt("meshflow");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v (%s:%#)");
  logger->set_level(spdlog::level::from_str(std::string{level}));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

} // namespace meshflow
