// The client commands of a node (`meshflow node`, node.cpp), over CAF's
// middleman to its admin actor (actors/node.hpp):
//
//   deploy FILE...                        {"id", "version"} per workflow
//   start ID [--version V] [--input JSON|@FILE] [--wait] [--timeout D]
//                                         the instance id, one a line; with
//                                         --wait the ended instance (as `get`)
//   get IID                               the instance
//   ls [--workflow ID] [--status S]       the instances, one a line
//   pause|resume|cancel|retry IID         the instance after the command
//   history IID                           its history, one entry a line
//   event @PATH [--instance IID]          {"delivered": n} per event
//   status                                {"name", "cluster", "healthy",
//                                         "problem", "partitions"}; exit 1
//                                         when the node is unhealthy
//   catalog register FILE...              the service of each AsyncAPI
//                                         document; its warnings on stderr
//   catalog ls                            the services, one a line
//   catalog show SERVICE                  the service (id or file name)
//
// Every answer is JSON, one document a line. Exit codes: 0 done; 1 the node
// refused (no such instance, wrong status), could not be reached, or a
// waited-for instance did not complete; 2 a wrong command line, input or
// definition. A failure is one line on stderr: `meshflow CMD: MESSAGE`.

#include <filesystem>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <fmt/format.h>

#include "commands.hpp"
#include "session.hpp"
#include "meshflow/actors/node.hpp"
#include "meshflow/dsl/document.hpp"
#include "meshflow/dsl/duration.hpp"
#include "meshflow/transport/json_format.hpp"

namespace meshflow::cli {

namespace {

using json = nlohmann::json;

/// How long a request may take, except `start --wait` and `deploy`.
const auto request_timeout = std::chrono::seconds{60};
/// How long a deploy may take: it may fetch a document per function, each
/// within the node's --document-timeout.
const auto deploy_timeout = std::chrono::minutes{5};

/// What a client reads is bounded in depth, so that no document overflows
/// a recursive parser here; its size is the node's to bound (the node says
/// its limit when it refuses).
const json_limits client_limits{std::size_t{1} << 30, json_limits::deepest};

/// Prints answers, and remembers the worst exit code.
class reply {
public:
  explicit reply(std::string command) : command_{std::move(command)} {}

  /// A failure (exit 1, or 2 for bad input) on stderr.
  void fail(const std::string& message, int code = exit_failed) {
    std::cerr << "meshflow " << command_ << ": " << message << '\n';
    code_ = std::max(code_, code);
  }

  /// The answer on stdout, or its failure; whether it was not a failure.
  bool print(const json& answer) {
    if (const auto* f = failure_of(answer)) {
      auto code = f->value("code", "");
      fail(f->value("message", "the node failed"),
           code == "definition" || code == "document" || code == "input" || code == "limit"
             ? exit_usage
             : exit_failed);
      return false;
    }
    std::cout << answer.dump() << '\n';
    return true;
  }

  /// Each element of an array answer on its own line.
  void print_lines(const json& answer) {
    if (!answer.is_array()) {
      print(answer);
      return;
    }
    for (const auto& line : answer)
      std::cout << line.dump() << '\n';
  }

  int code() const { return code_; }

private:
  std::string command_;
  int code_ = exit_ok;
};

/// Connects to the node at HOST:PORT and lets `work` talk to it.
int with_node(const std::string& command, const std::string& address,
              const std::function<void(admin_session&, reply&)>& work) {
  reply out{command};
  auto colon = address.rfind(':');
  unsigned long port = 0;
  try {
    if (colon != std::string::npos)
      port = std::stoul(address.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (colon == std::string::npos || colon == 0 || port == 0 || port > 65535) {
    out.fail(fmt::format("--node '{}': expected HOST:PORT", address), exit_usage);
    return out.code();
  }
  auto host = address.substr(0, colon);
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  auto admin = sys.middleman().remote_actor(host, static_cast<std::uint16_t>(port));
  if (!admin) {
    out.fail(fmt::format("cannot reach the node at {}: {}", address, sys.render(admin.error())));
    return out.code();
  }
  {
    admin_session node{sys, *admin};
    work(node, out);
  }
  return out.code();
}

/// A client subcommand with its `--node` option.
struct client_command {
  CLI::App* cmd;
  std::shared_ptr<std::string> node;
};

client_command add_command(CLI::App& app, const std::string& name, const std::string& what) {
  auto node = std::make_shared<std::string>(fmt::format("127.0.0.1:{}", default_node_port));
  auto* cmd = app.add_subcommand(name, what);
  cmd->add_option("--node", *node,
                  fmt::format("The node's HOST:PORT (default 127.0.0.1:{})", default_node_port));
  return {cmd, node};
}

/// `pause|resume|cancel|retry|get|history IID`: one request about one
/// instance.
template <class Atom>
void add_instance_command(CLI::App& app, options& opts, const std::string& name,
                          const std::string& what, bool lines = false) {
  auto c = add_command(app, name, what);
  auto id = std::make_shared<std::string>();
  c.cmd->add_option("instance", *id, "The instance id")->required();
  c.cmd->callback([&opts, c, id, name, lines] {
    opts.run = [c, id, name, lines] {
      return with_node(name, *c.node, [&](admin_session& node, reply& out) {
        auto answer = node.ask(request_timeout, Atom::value, *id);
        if (lines && !failure_of(answer))
          out.print_lines(answer);
        else
          out.print(answer);
      });
    };
  });
}

void add_deploy(CLI::App& app, options& opts) {
  auto c = add_command(app, "deploy", "Deploy workflow definitions to a node");
  auto files = std::make_shared<std::vector<std::string>>();
  c.cmd->add_option("files", *files, "Workflow definition files (YAML or JSON)")->required();
  c.cmd->callback([&opts, c, files] {
    opts.run = [c, files] {
      return with_node("deploy", *c.node, [&](admin_session& node, reply& out) {
        for (const auto& file : *files)
          if (auto answer = node.deploy(file, caf::duration{deploy_timeout}); !failure_of(answer))
            out.print_lines(answer["workflows"]);
          else
            out.print(answer);
      });
    };
  });
}

struct start_args {
  std::string workflow;
  std::string version;
  std::string input;
  bool wait = false;
  std::string timeout = "PT5M";
};

void start(admin_session& node, reply& out, const start_args& a) {
  auto timeout = dsl::parse_duration(a.timeout);
  if (!timeout) {
    out.fail(fmt::format("--timeout '{}': {}", a.timeout, timeout.error().message), exit_usage);
    return;
  }
  auto inputs = read_inputs(a.input, client_limits);
  if (!inputs) {
    out.fail(fmt::format("--input: {}", inputs.error().message), exit_usage);
    return;
  }
  std::vector<caf::message> requests;
  for (const auto& input : *inputs)
    requests.push_back(caf::make_message(actors::start_atom::value, a.workflow, a.version, input));
  std::vector<std::string> ids;
  bool refused = false;  // told once, not once per input
  node.ask_each(requests, request_timeout, [&](json started) {
    if (failure_of(started)) {
      if (!std::exchange(refused, true))
        out.print(started);
      return;
    }
    ids.push_back(started["id"].get<std::string>());
    if (!a.wait)
      std::cout << ids.back() << '\n';
  });
  if (!a.wait)
    return;
  // The waits are pipelined like the starts; answers come in start order.
  std::vector<caf::message> waits;
  for (const auto& id : ids)
    waits.push_back(caf::make_message(actors::wait_atom::value, id));
  std::size_t next = 0;
  node.ask_each(waits, timeout->value, [&](json ended) {
    const auto& id = ids[next++];
    if (out.print(ended) && ended.value("status", "") != "COMPLETED")
      out.fail(fmt::format("instance {} is {}", id, ended.value("status", "")));
  });
}

void add_start(CLI::App& app, options& opts) {
  auto c = add_command(app, "start", "Start instances of a deployed workflow");
  auto a = std::make_shared<start_args>();
  c.cmd->add_option("workflow", a->workflow, "The workflow id")->required();
  c.cmd->add_option("--version", a->version, "The version (default: the one deployed last)");
  c.cmd->add_option("--input", a->input,
                    "The input: a JSON object, or @FILE of one, or of JSON Lines (one "
                    "instance a line)");
  c.cmd->add_flag("--wait", a->wait, "Wait for the instances to end; print them as `get` does");
  c.cmd->add_option("--timeout", a->timeout, "With --wait: how long to wait (default PT5M)");
  c.cmd->callback([&opts, c, a] {
    opts.run = [c, a] {
      return with_node("start", *c.node,
                       [&](admin_session& node, reply& out) { start(node, out, *a); });
    };
  });
}

void add_ls(CLI::App& app, options& opts) {
  auto c = add_command(app, "ls", "List the node's instances");
  auto workflow = std::make_shared<std::string>();
  auto status = std::make_shared<std::string>();
  c.cmd->add_option("--workflow", *workflow, "Only instances of this workflow id");
  c.cmd->add_option("--status", *status, "Only instances with this status")
    ->check(CLI::IsMember({"RUNNING", "PAUSED", "COMPLETED", "FAULTED", "TERMINATED"}));
  c.cmd->callback([&opts, c, workflow, status] {
    opts.run = [c, workflow, status] {
      return with_node("ls", *c.node, [&](admin_session& node, reply& out) {
        out.print_lines(node.ask(request_timeout, actors::list_atom::value, *workflow, *status));
      });
    };
  });
}

void add_status(CLI::App& app, options& opts) {
  auto c = add_command(app, "status", "Whether the node is healthy, and what it owns");
  c.cmd->callback([&opts, c] {
    opts.run = [c] {
      return with_node("status", *c.node, [&](admin_session& node, reply& out) {
        auto answer = node.ask(request_timeout, actors::status_atom::value);
        if (out.print(answer) && !answer.value("healthy", false))
          out.fail(fmt::format("the node is unhealthy: {}", answer.value("problem", "")));
      });
    };
  });
}

void add_event(CLI::App& app, options& opts) {
  auto c = add_command(app, "event", "Send CloudEvents to a node's instances");
  auto file = std::make_shared<std::string>();
  auto instance = std::make_shared<std::string>();
  c.cmd->add_option("events", *file,
                    "@PATH of a CloudEvent (structured JSON) or a JSON array of them")
    ->required();
  c.cmd->add_option("--instance", *instance,
                    "Deliver to this instance (default: by `workflowinstanceid`, else to "
                    "every instance waiting for the type, and to event-started workflows)");
  c.cmd->callback([&opts, c, file, instance] {
    opts.run = [c, file, instance] {
      return with_node("event", *c.node, [&](admin_session& node, reply& out) {
        auto text = inline_or_file(*file);
        if (text)
          if (auto within = check_json(*text, client_limits, *file); !within)
            text = tl::unexpected(within.error());
        auto events = text ? transport::json_format::parse_events(*text)
                           : expected<std::vector<transport::cloud_event>>{
                               tl::unexpected(text.error())};
        if (!events) {
          out.fail(fmt::format("{}: {}", *file, events.error().message), exit_usage);
          return;
        }
        for (const auto& e : *events)
          out.print(node.ask(request_timeout, actors::event_atom::value,
                             *transport::json_format::serialize(e), *instance));
      });
    };
  });
}

/// `catalog register|ls|show`: the node's AsyncAPI catalog (docs/catalog.md).
void add_catalog(CLI::App& app, options& opts) {
  auto* catalog = app.add_subcommand("catalog", "The node's AsyncAPI catalog");
  catalog->require_subcommand(1);

  auto reg = add_command(*catalog, "register", "Register AsyncAPI documents (YAML or JSON)");
  auto files = std::make_shared<std::vector<std::string>>();
  reg.cmd->add_option("files", *files, "AsyncAPI 2.x documents")->required();
  reg.cmd->callback([&opts, reg, files] {
    opts.run = [reg, files] {
      return with_node("catalog register", *reg.node, [&](admin_session& node, reply& out) {
        for (const auto& file : *files) {
          auto text = dsl::read_text(file);
          if (!text) {
            out.fail(text.error().message, exit_usage);
            continue;
          }
          std::error_code ec;
          auto path = std::filesystem::absolute(file, ec);
          auto answer = node.ask(request_timeout, actors::catalog_atom::value,
                                 actors::register_atom::value, ec ? file : path.string(), *text);
          if (failure_of(answer)) {
            out.print(answer);
            continue;
          }
          for (const auto& w : answer["warnings"])
            std::cerr << w.get<std::string>() << '\n';
          out.print_lines(answer["services"]);
        }
      });
    };
  });

  auto ls = add_command(*catalog, "ls", "List the registered services");
  ls.cmd->callback([&opts, ls] {
    opts.run = [ls] {
      return with_node("catalog ls", *ls.node, [&](admin_session& node, reply& out) {
        out.print_lines(
          node.ask(request_timeout, actors::catalog_atom::value, actors::list_atom::value));
      });
    };
  });

  auto show = add_command(*catalog, "show", "Show a service: channels, topics, operations");
  auto service = std::make_shared<std::string>();
  show.cmd->add_option("service", *service, "The service's id, or its document's file name")
    ->required();
  show.cmd->callback([&opts, show, service] {
    opts.run = [show, service] {
      return with_node("catalog show", *show.node, [&](admin_session& node, reply& out) {
        out.print(node.ask(request_timeout, actors::catalog_atom::value,
                           actors::show_atom::value, *service));
      });
    };
  });
}

} // namespace

void add_client(CLI::App& app, options& opts) {
  add_deploy(app, opts);
  add_start(app, opts);
  add_instance_command<actors::get_atom>(app, opts, "get", "Show an instance");
  add_ls(app, opts);
  add_status(app, opts);
  add_instance_command<actors::pause_atom>(app, opts, "pause",
                                           "Pause an instance: no new action starts");
  add_instance_command<actors::resume_atom>(app, opts, "resume", "Resume a paused instance");
  add_instance_command<actors::cancel_atom>(app, opts, "cancel",
                                            "Cancel an instance (it is TERMINATED)");
  add_instance_command<actors::retry_atom>(app, opts, "retry",
                                           "Re-run a FAULTED instance from the failed state");
  add_instance_command<actors::history_atom>(app, opts, "history", "Show an instance's history",
                                             true);
  add_event(app, opts);
  add_catalog(app, opts);
}

} // namespace meshflow::cli
