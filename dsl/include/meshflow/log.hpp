#pragma once

// The project's one logging macro. Every line names its component and the
// file:line that wrote it:
//
//   MESHFLOW_LOG(warn, "admin", "start of '{}' dropped: {}", workflow, why);
//   2026-12-01T15:20:01.123 warn [admin] start of 'order' dropped: ... (node.cpp:412)
//
// `severity` is one of spdlog's levels: trace, debug, info, warn, err,
// critical. Processes that log (a node, `meshflow run`) call
// `log_to_stderr` once.

#include <spdlog/spdlog.h>

#define MESHFLOW_LOG(severity, component, format, ...)                                     \
  ::spdlog::log(::spdlog::source_loc{__FILE__, __LINE__, SPDLOG_FUNCTION},                 \
                ::spdlog::level::severity, "[" component "] " format __VA_OPT__(, ) __VA_ARGS__)

namespace meshflow {

/// Logs to stderr, at `level` ("info", "warn", ...; "off" for none) and above.
void log_to_stderr(std::string_view level = "info");

} // namespace meshflow
