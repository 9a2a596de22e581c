#include "meshflow/actors/node.hpp"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "meshflow/actors/catalog_actor.hpp"
#include "meshflow/actors/command.hpp"
#include "meshflow/actors/engine.hpp"
#include "meshflow/actors/partition.hpp"
#include "meshflow/actors/router.hpp"
#include "meshflow/log.hpp"

namespace meshflow::actors {

namespace {

using json = nlohmann::json;

struct admin_state {
  node_options options;
  deploy_settings deploy;
  deployments deployed = std::make_shared<deployment_set>();
  caf::actor engine;
  caf::actor router;
  std::vector<caf::actor> partitions;
  /// Scheduled workflows (start.schedule) by workflow id: the version
  /// deployed last starts on its schedule. `generation` tells a timer of a
  /// replaced deployment from the current one.
  struct scheduled {
    std::string version;
    start_schedule when;
    int started = 0;
    std::uint64_t generation = 0;
  };
  std::map<std::string, scheduled> schedules;
  std::uint64_t generations = 0;
  /// The catalog actor (catalog_actor.hpp), whose snapshots become
  /// `deploy.catalog`; null when it did not start, `catalog_down` says why.
  caf::actor catalog;
  std::string catalog_down;
  static inline const char* name = "meshflow.admin";
};

using self_ptr = caf::stateful_actor<admin_state>*;

std::string failure(std::string code, std::string message) {
  return error_json({std::move(code), std::move(message)});
}

deploy_settings deploy_settings_of(const node_options& o) {
  // The catalog comes with its first snapshot (attach_catalog); the bus with
  // the Kafka runtime.
  return {o.natives, o.http,    o.http_timeout, o.document_timeout, o.max_concurrent_calls,
          o.json,    nullptr, {}};
}

void dispatch(self_ptr self, command c) {
  self->send(self->state.engine, dispatch_atom::value, std::vector<command>{std::move(c)});
}

const caf::actor& owner(self_ptr self, const std::string& id) {
  auto& p = self->state.partitions;
  return p[partition_of(id, static_cast<std::uint32_t>(p.size()))];
}

/// A deployer: prepares one deploy on a thread of its own, so that a
/// document server that never answers holds that deploy only, not the
/// admin nor the other deploys.
caf::behavior deployer(caf::event_based_actor* self, deploy_settings settings) {
  return {
    [self, settings](deploy_atom, const std::string& path, const std::string& text) {
      self->quit();
      return prepare_deployment(settings, path, text);
    },
  };
}

// --- the AsyncAPI catalog ----------------------------------------------------
// The admin starts the catalog actor and watches it: each deploy reads the
// snapshot current when it begins (`deploy_settings::catalog`); catalog
// requests go to the catalog actor; documents a deploy found beside its
// workflow are registered once it is installed.

/// Starts the node's catalog on its brokers (in memory when the node has
/// none) and watches it.
void attach_catalog(self_ptr self) {
  auto& st = self->state;
  catalog_settings settings;
  if (!st.options.brokers.empty())
    settings.kafka = {{"bootstrap.servers", st.options.brokers}};
  if (auto topics = transport::engine_topics::of(st.options.topics))
    settings.topic = topics->catalog;
  auto started = start_catalog(self->system(), std::move(settings));
  if (!started) {
    st.catalog_down = fmt::format("the node's catalog did not start: {}", started.error().message);
    MESHFLOW_LOG(err, "admin", "{}", st.catalog_down);
    return;
  }
  st.catalog = std::move(*started);
  self->send(st.catalog, catalog_atom::value, watch_atom::value);
}

/// A catalog request, answered by the catalog actor through the admin (not
/// delegated: an actor that answers a remote client stays in CAF's registry
/// until the actor system ends, and a detached one then never ends).
template <class... Ts>
caf::result<std::string> ask_catalog(self_ptr self, Ts&&... xs) {
  if (!self->state.catalog)
    return failure("catalog", self->state.catalog_down);
  auto answer = self->make_response_promise<std::string>();
  self->request(self->state.catalog, caf::infinite, catalog_atom::value, std::forward<Ts>(xs)...)
    .then([answer](std::string& r) mutable { answer.deliver(std::move(r)); },
          [self, answer](caf::error& e) mutable {
            answer.deliver(failure("catalog", fmt::format("the node's catalog failed: {}",
                                                          self->system().render(e))));
          });
  return answer;
}

/// Registers the documents that deploying `workflow` read from beside it,
/// with a notice each.
void register_found(self_ptr self, const std::string& workflow,
                    const std::vector<catalog::document_source>& found) {
  for (const auto& d : found) {
    if (!self->state.catalog)
      return;
    self->request(self->state.catalog, caf::infinite, catalog_atom::value, register_atom::value,
                  d.name, d.text)
      .then([workflow, name = d.name](const std::string& answer) {
        auto j = json::parse(answer, nullptr, false);
        if (j.contains("error"))
          MESHFLOW_LOG(warn, "admin", "{}, which workflow '{}' uses, is not in the catalog: {}",
                       name, workflow, j["error"].value("message", answer));
        else
          MESHFLOW_LOG(info, "admin", "registered {} in the catalog: workflow '{}' names it "
                       "and the catalog did not have it",
                       name, workflow);
      });
  }
}

/// Arms the timer of the next scheduled start of `workflow`, if any.
void arm_schedule(self_ptr self, const std::string& workflow) {
  auto& s = self->state.schedules.at(workflow);
  auto now = now_ms();
  auto next = s.when.next_after(now, s.started);
  if (!next) {
    self->state.schedules.erase(workflow);
    return;
  }
  self->delayed_send(self, std::chrono::milliseconds{*next - now}, schedule_atom::value, workflow,
                     s.generation);
}

/// Installs a prepared deployment and hands the node's new versions to the
/// actors that run instances. The answer to the deploy.
std::string deployed(self_ptr self, prepared_deployment& p) {
  if (p.failure)
    return failure(p.failure->code, p.failure->message);
  auto& st = self->state;
  auto dep = install(self->system(), st.deploy, p);
  auto [next, replaced] = st.deployed->with(dep);
  if (replaced)
    for (const auto& b : replaced->bindings)
      self->send_exit(b, caf::exit_reason::user_shutdown);
  st.deployed = std::move(next);
  register_found(self, dep->plan->definition->identity(), p.found_documents);
  for (const auto& part : st.partitions)
    self->send(part, deployed_atom::value, st.deployed);
  self->send(st.router, deployed_atom::value, st.deployed);
  const auto& w = *dep->plan->definition;
  auto version = w.version.value_or("");
  st.schedules.erase(w.identity());
  if (dep->schedule) {
    st.schedules[w.identity()] = {version, *dep->schedule, 0, ++st.generations};
    arm_schedule(self, w.identity());
  }
  return json{{"workflows", {{{"id", w.identity()}, {"version", version}}}}}.dump();
}

/// A start command for `workflow` with `input`, checked as a start request
/// is: the error says why it cannot start.
expected<command> start_of(self_ptr self, const std::string& workflow, const std::string& version,
                           const std::string& input) {
  auto dep = self->state.deployed->find(workflow, version);
  if (!dep)
    return fail("not-found", version.empty()
                               ? fmt::format("no workflow '{}' is deployed", workflow)
                               : fmt::format("workflow '{}' version '{}' is not deployed",
                                             workflow, version));
  if (auto within = check_json(input, self->state.options.json, "the input"); !within)
    return tl::unexpected(within.error());
  auto parsed = json::parse(input.empty() ? "{}" : input, nullptr, false);
  if (parsed.is_discarded())
    return fail("input", "the input is not JSON");
  if (!parsed.is_object())
    return fail("input", fmt::format("the input must be a JSON object, not {}",
                                     parsed.type_name()));
  start_command s;
  if (dep->input)
    if (auto wrong = dep->input->violations(parsed); !wrong.empty()) {
      auto what = fmt::format("the input does not satisfy the dataInputSchema: {}",
                              fmt::join(wrong, "; "));
      if (dep->input->refuses_invalid())
        return fail("input", what);
      s.input_invalid = std::move(what);
    }
  s.workflow_id = workflow;
  s.version = dep->plan->definition->version.value_or("");
  s.input = parsed.dump();
  return command{new_instance_id(), {}, std::move(s)};
}

/// A command about an existing instance, answered by its partition once
/// applied.
template <class Command>
caf::result<std::string> ask_owner(self_ptr self, const std::string& id, Command what) {
  auto request = new_instance_id();
  self->delegate(owner(self, id), await_atom::value, request);
  dispatch(self, command{id, request, std::move(what)});
  return caf::delegated<std::string>{};
}

caf::behavior admin(self_ptr self, node_options options) {
  auto& st = self->state;
  st.options = std::move(options);
  st.deploy = deploy_settings_of(st.options);
  st.engine = spawn_engine(self->system(), st.options.event_listener);
  st.router = spawn_router(self->system(), {st.deployed, st.engine, st.options.json});
  auto partitions = static_cast<std::uint32_t>(std::max(1, st.options.topics.partitions));
  for (std::uint32_t p = 0; p < partitions; ++p)
    st.partitions.push_back(
      spawn_partition(self->system(), {p, st.deployed, st.options.limits, st.engine, st.router}));
  self->send(st.engine, attach_atom::value, st.partitions, st.router);
  self->send(st.router, attach_atom::value, st.partitions);
  attach_catalog(self);
  // Told to stop: the node's actors and the function bindings stop with the
  // admin.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    for (const auto& p : st.partitions)
      self->send_exit(p, msg.reason);
    self->send_exit(st.router, msg.reason);
    self->send_exit(st.engine, msg.reason);
    if (st.catalog)
      self->send_exit(st.catalog, msg.reason);
    for (const auto& dep : st.deployed->all())
      for (const auto& b : dep->bindings)
        self->send_exit(b, msg.reason);
    self->quit(msg.reason);
  });
  return {
    // Each deploy is prepared by a deployer of its own; the admin serves on
    // meanwhile, and installs each when it is ready.
    [self](deploy_atom, std::string& path, std::string& text) -> caf::result<std::string> {
      auto answer = self->make_response_promise<std::string>();
      auto worker = self->spawn<caf::detached>(deployer, self->state.deploy);
      self->request(worker, caf::infinite, deploy_atom::value, std::move(path), std::move(text))
        .then(
          [self, answer](std::shared_ptr<prepared_deployment>& p) mutable {
            answer.deliver(deployed(self, *p));
          },
          [self, answer](caf::error& e) mutable {
            answer.deliver(failure("definition", fmt::format("the deploy failed: {}",
                                                             self->system().render(e))));
          });
      return answer;
    },
    // Answered once the instance exists (its start is applied), so that
    // whatever the client asks next finds it.
    [self](start_atom, const std::string& workflow, const std::string& version,
           const std::string& input) -> caf::result<std::string> {
      auto c = start_of(self, workflow, version, input);
      if (!c)
        return failure(c.error().code, c.error().message);
      auto answer = self->make_response_promise<std::string>();
      auto id = c->instance_id;
      c->request_id = new_instance_id();
      self->request(owner(self, id), caf::infinite, await_atom::value, c->request_id)
        .then([answer, id](std::string& applied) mutable {
          auto j = json::parse(applied, nullptr, false);
          if (j.is_object() && j.contains("error") && j.size() == 1)
            answer.deliver(std::move(applied));
          else
            answer.deliver(json{{"id", id}}.dump());
        });
      dispatch(self, std::move(*c));
      return answer;
    },
    [self](get_atom, const std::string& id) -> caf::result<std::string> {
      self->delegate(owner(self, id), get_atom::value, id);
      return caf::delegated<std::string>{};
    },
    [self](history_atom, const std::string& id) -> caf::result<std::string> {
      self->delegate(owner(self, id), history_atom::value, id);
      return caf::delegated<std::string>{};
    },
    [self](wait_atom, const std::string& id) -> caf::result<std::string> {
      self->delegate(owner(self, id), wait_atom::value, id);
      return caf::delegated<std::string>{};
    },
    [self](pause_atom, const std::string& id) {
      return ask_owner(self, id, pause_command{});
    },
    [self](resume_atom, const std::string& id) {
      return ask_owner(self, id, resume_command{});
    },
    [self](cancel_atom, const std::string& id) {
      return ask_owner(self, id, cancel_command{"cancelled by an operator"});
    },
    [self](retry_atom, const std::string& id) { return ask_owner(self, id, retry_command{}); },
    [self](list_atom, const std::string& workflow,
           const std::string& status) -> caf::result<std::string> {
      // Every partition's instances, merged in partition order.
      auto answer = self->make_response_promise<std::string>();
      auto& parts = self->state.partitions;
      auto lists = std::make_shared<std::vector<std::string>>(parts.size());
      auto left = std::make_shared<std::size_t>(parts.size());
      for (std::size_t p = 0; p < parts.size(); ++p)
        self->request(parts[p], caf::infinite, list_atom::value, workflow, status)
          .then([answer, lists, left, p](std::string& l) mutable {
            (*lists)[p] = std::move(l);
            if (--*left > 0)
              return;
            auto all = json::array();
            for (const auto& text : *lists)
              for (auto& i : json::parse(text, nullptr, false))
                all.push_back(std::move(i));
            answer.deliver(all.dump());
          });
      return answer;
    },
    [self](event_atom, const std::string& text,
           const std::string& id) -> caf::result<std::string> {
      self->delegate(self->state.router, event_atom::value, text, id);
      return caf::delegated<std::string>{};
    },
    [self](schedule_atom, const std::string& workflow, std::uint64_t generation) {
      auto& st = self->state;
      auto it = st.schedules.find(workflow);
      if (it == st.schedules.end() || it->second.generation != generation)
        return;  // redeployed since
      ++it->second.started;
      if (auto c = start_of(self, workflow, it->second.version, "{}"))
        dispatch(self, std::move(*c));
      arm_schedule(self, workflow);
    },
    [self](catalog_atom, register_atom, std::string& path, std::string& text) {
      return ask_catalog(self, register_atom::value, std::move(path), std::move(text));
    },
    [self](catalog_atom, list_atom) { return ask_catalog(self, list_atom::value); },
    [self](catalog_atom, show_atom, std::string& service) {
      return ask_catalog(self, show_atom::value, std::move(service));
    },
    [self](catalog_atom, catalog_snapshot& now) { self->state.deploy.catalog = std::move(now); },
  };
}

} // namespace

// A stand-in until the node runs on Kafka: the admin alone, in memory.
expected<running_node> start_node(caf::actor_system& sys, node_options options) {
  // Made here, not in the admin's first message: the node's threads all
  // run once start_node returns.
  if (!options.http)
    options.http = std::make_shared<transport::http_client>();
  return running_node{sys.spawn(admin, std::move(options)), "", true};
}

} // namespace meshflow::actors
