#pragma once

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

/// What the chosen subcommand will do, once the command line is parsed.
struct options {
  std::function<int()> run;
};

/// `meshflow validate FILE... [--format text|json]`
void add_validate(CLI::App& app, options& opts);

/// `meshflow diagram FILE [--format dot|mermaid]`
void add_diagram(CLI::App& app, options& opts);

/// `meshflow run FILE [--input JSON|@PATH] [--deploy FILE]... [--event @PATH]...
/// [--timeout DURATION]`
void add_run(CLI::App& app, options& opts);

} // namespace meshflow::cli
