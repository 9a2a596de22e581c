// The `meshflow` command. Exit codes (SEMANTICS.md, "Command-line contract"):
// 0 success, 1 an invalid (or unreadable) definition / a failed instance,
// 2 a wrong command line. No input ends in a crash: every failure is a
// message and a code.

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define MESHFLOW_LEAK_CHECK 1
/// What a leak found at exit makes the exit code (ASan's own default).
constexpr int exit_leak = 23;
#endif
#endif

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
  int code = meshflow::cli::exit_usage;
  try {
    code = opts.run();
  } catch (const std::exception& e) {
    std::cerr << "meshflow: " << e.what() << '\n';
  }
  // What `keep_until_exit` keeps goes with the process, not through its
  // destructors.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
#if MESHFLOW_LEAK_CHECK
  // _Exit skips the sanitizer's own check at exit.
  if (__lsan_do_recoverable_leak_check() != 0)
    std::_Exit(exit_leak);
#endif
  std::_Exit(code);
}
