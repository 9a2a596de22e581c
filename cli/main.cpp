// The `meshflow` command. Exit codes (SEMANTICS.md, "Command-line contract"):
// 0 success, 1 an invalid (or unreadable) definition / a failed instance,
// 2 a wrong command line. No input ends in a crash: every failure is a
// message and a code.

#include <cstdio>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"meshflow: Serverless Workflow 0.8 on Kafka and actors", "meshflow"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string{MESHFLOW_VERSION});
  meshflow::cli::options opts;
  meshflow::cli::add_validate(app, opts);
  meshflow::cli::add_diagram(app, opts);
  meshflow::cli::add_run(app, opts);
  meshflow::cli::add_node(app, opts);
  meshflow::cli::add_client(app, opts);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return meshflow::cli::exit_usage;
  }
  try {
    return opts.run();
  } catch (const std::exception& e) {
    std::cerr << "meshflow: " << e.what() << '\n';
    return meshflow::cli::exit_usage;
  }
}
