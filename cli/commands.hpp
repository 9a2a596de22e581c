#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace meshflow::cli {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_usage = 2;

/// Where `meshflow node` listens and the client commands connect by default.
constexpr std::uint16_t default_node_port = 4800;

/// What the chosen subcommand will do, once the command line is parsed.
struct options {
  std::function<int()> run;
};

/// `meshflow validate FILE... [--format text|json] [--schema-only]`
void add_validate(CLI::App& app, options& opts);

/// `meshflow diagram FILE [--format dot|mermaid]`
void add_diagram(CLI::App& app, options& opts);

/// `meshflow run FILE [--input JSON|@PATH] [--deploy FILE]... [--event @PATH]...
/// [--timeout DURATION]`
void add_run(CLI::App& app, options& opts);

/// `meshflow node [--host HOST] [--port PORT] [--deploy FILE]... [--quiet]`
void add_node(CLI::App& app, options& opts);

/// The client commands of a node: `deploy`, `start`, `get`, `ls`, `pause`,
/// `resume`, `cancel`, `retry`, `history`, `event`, `catalog register|ls|show`,
/// each with `--node HOST:PORT`.
void add_client(CLI::App& app, options& opts);

} // namespace meshflow::cli
