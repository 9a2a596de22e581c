#include "meshflow/actors/function_binding.hpp"

#include <deque>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "meshflow/actors/command.hpp"
#include "meshflow/actors/operation_lookup.hpp"
#include "meshflow/catalog/reference.hpp"
#include "meshflow/dsl/document.hpp"
#include "meshflow/transport/json_format.hpp"

// From the HTTP client's thread to a REST binding, in process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshflow::transport::http_outcome)

namespace meshflow::actors {

namespace {

using rest_done_atom = caf::atom_constant<caf::atom("restdone")>;

/// Parses the arguments the supervisor sent; a failure is the action's error.
expected<nlohmann::json> arguments_of(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded())
    return fail("arguments", "the action's arguments are not JSON");
  return j;
}

invocation_result to_result(const expected<nlohmann::json>& r) {
  if (!r)
    return invocation_result::failed(r.error().code, r.error().message);
  return invocation_result::success(r->dump());
}

caf::behavior expression_binding(caf::event_based_actor*, std::shared_ptr<const dsl::plan> plan,
                                 jq::expression_id id) {
  return {
    [plan, id](invoke_atom, const std::string& arguments, const std::string&,
               const std::string&) {
      auto input = jq::value::parse(arguments);
      if (!input)
        return invocation_result::failed("arguments", "the action's input is not JSON");
      auto r = plan->expressions->evaluate(id, *input);
      if (!r)
        return invocation_result::failed(r.error().code, r.error().message);
      return invocation_result::success(r->dump());
    },
    // An evaluation is over before anyone can give up on it.
    [](abandon_atom) {},
  };
}

caf::behavior native_binding(caf::event_based_actor*, native_function f) {
  return {
    [f](invoke_atom, const std::string& arguments, const std::string&, const std::string&) {
      auto args = arguments_of(arguments);
      if (!args)
        return to_result(args);
      return to_result(f(*args));
    },
    [](abandon_atom) {},
  };
}

/// A REST binding: function_binding.hpp, "How a REST binding calls".
struct rest_binding_state {
  struct call {
    caf::response_promise promise;
    caf::actor_addr requester;
    std::string arguments;
    std::string key;  // the call's (supervision::call_key)
    /// Once started.
    std::optional<transport::http_client::transfer_id> transfer;
    std::string target;
  };

  transport::rest_operation op;
  std::shared_ptr<transport::http_client> http;
  std::chrono::milliseconds timeout{};
  json_limits limits;
  std::size_t max_in_flight = 1;

  /// By call number, queued and in flight.
  std::unordered_map<std::uint64_t, call> calls;
  /// The queued calls' numbers, in arrival order (abandoned ones are
  /// skipped when their turn comes).
  std::deque<std::uint64_t> queue;
  std::size_t in_flight = 0;
  std::uint64_t next = 0;
  /// Calls per requester; a requester is monitored while it has some.
  std::unordered_map<caf::actor_addr, std::size_t> requesters;

  rest_binding_state() = default;
  rest_binding_state(const rest_binding_state&) = delete;
  rest_binding_state& operator=(const rest_binding_state&) = delete;
  /// A binding that stops leaves no transfer behind.
  ~rest_binding_state() {
    for (const auto& [n, c] : calls)
      if (c.transfer)
        http->cancel(*c.transfer);
  }

  static inline const char* name = "meshflow.rest_binding";
};

using rest_self = caf::stateful_actor<rest_binding_state>*;

/// Forgets call `n` (answered or abandoned); its requester, with its last
/// call.
void forget(rest_self self,
            std::unordered_map<std::uint64_t, rest_binding_state::call>::iterator it) {
  auto& st = self->state;
  if (it->second.transfer)
    --st.in_flight;
  if (auto r = st.requesters.find(it->second.requester);
      r != st.requesters.end() && --r->second == 0) {
    self->demonitor(r->first);
    st.requesters.erase(r);
  }
  st.calls.erase(it);
}

/// Starts queued calls while fewer than `max_in_flight` are in flight.
void start_queued(rest_self self) {
  auto& st = self->state;
  while (st.in_flight < st.max_in_flight && !st.queue.empty()) {
    auto n = st.queue.front();
    st.queue.pop_front();
    auto it = st.calls.find(n);
    if (it == st.calls.end())
      continue;
    auto& c = it->second;
    auto args = arguments_of(c.arguments);
    auto request = args ? transport::request_for(st.op, *args, st.timeout, st.limits)
                        : expected<transport::http_request>{tl::unexpected(args.error())};
    if (!request) {
      c.promise.deliver(invocation_result::failed(request.error().code, request.error().message));
      forget(self, it);
      continue;
    }
    // The same for every attempt of the call, and after a restart: the
    // service can tell a call made again (at least once) from a new one.
    if (!c.key.empty())
      request->headers.emplace_back(std::string{idempotency_header}, std::move(c.key));
    c.arguments.clear();
    c.target = request->target();
    caf::weak_actor_ptr me{self->ctrl()};
    c.transfer = st.http->submit(std::move(*request), [me, n](transport::http_outcome outcome) {
      // The client's thread: hand over, touch nothing.
      if (auto strong = me.lock())
        caf::anon_send(caf::actor_cast<caf::actor>(strong), rest_done_atom::value, n,
                       std::move(outcome));
    });
    ++st.in_flight;
  }
}

/// Drops every call of `requester`, cancelling its transfers.
void abandon(rest_self self, const caf::actor_addr& requester) {
  auto& st = self->state;
  for (auto it = st.calls.begin(); it != st.calls.end();) {
    auto next = std::next(it);
    if (it->second.requester == requester) {
      if (it->second.transfer)
        st.http->cancel(*it->second.transfer);
      forget(self, it);
    }
    it = next;
  }
  start_queued(self);
}

caf::behavior rest_binding(rest_self self, transport::rest_operation op,
                           std::shared_ptr<transport::http_client> http,
                           std::chrono::milliseconds timeout, json_limits limits,
                           std::size_t max_in_flight) {
  auto& st = self->state;
  st.op = std::move(op);
  st.http = std::move(http);
  st.timeout = timeout;
  st.limits = limits;
  st.max_in_flight = std::max<std::size_t>(1, max_in_flight);
  self->set_down_handler([self](caf::down_msg& down) { abandon(self, down.source); });
  return {
    [self](invoke_atom, std::string& arguments, const std::string&,
           std::string& key) -> caf::result<invocation_result> {
      auto& st = self->state;
      auto n = st.next++;
      auto& c = st.calls[n];
      // Before the promise: making it takes the sender from the message.
      if (const auto& sender = self->current_sender()) {
        c.requester = caf::actor_cast<caf::actor_addr>(sender);
        if (st.requesters[c.requester]++ == 0)
          self->monitor(sender);
      }
      c.promise = self->make_response_promise();
      c.arguments = std::move(arguments);
      c.key = std::move(key);
      st.queue.push_back(n);
      start_queued(self);
      return caf::delegated<invocation_result>{};
    },
    [self](rest_done_atom, std::uint64_t n, transport::http_outcome& outcome) {
      auto& st = self->state;
      auto it = st.calls.find(n);
      if (it == st.calls.end())
        return;  // abandoned meanwhile
      auto result = transport::result_of(it->second.target, std::move(outcome), st.limits);
      it->second.promise.deliver(to_result(result));
      forget(self, it);
      start_queued(self);
    },
    [self](abandon_atom) {
      if (const auto& sender = self->current_sender())
        abandon(self, caf::actor_cast<caf::actor_addr>(sender));
    },
  };
}

/// The CloudEvent an asyncapi function publishes for `arguments`, as
/// structured JSON; error `payload` when they do not satisfy the message's
/// schema (function_binding.hpp, "How an asyncapi binding publishes").
expected<std::string> publication_of(const std::string& function,
                                     const catalog::bound_operation& bound,
                                     const std::string& source, const nlohmann::json& arguments,
                                     const std::string& instance_id) {
  const auto& op = bound.operation;
  if (auto wrong = op.violations(arguments); !wrong.empty())
    return fail("payload",
                fmt::format("function '{}': the arguments do not satisfy the payload schema of "
                            "operation '{}' ({}): {}; nothing was published",
                            function, op.id, catalog::document_base_name(bound.document),
                            fmt::join(wrong, "; ")));
  transport::cloud_event e;
  e.id = new_instance_id();
  e.source = source;
  e.type = op.id;
  e.datacontenttype = "application/json";
  e.data = arguments.dump();
  if (!instance_id.empty())
    e.extensions["workflowinstanceid"] = instance_id;
  auto text = transport::json_format::serialize(e);
  if (!text)
    return fail("publish", fmt::format("function '{}': {}", function, text.error().message));
  return text;
}

caf::behavior asyncapi_binding(caf::event_based_actor*, std::string function,
                               prepared_function::publish how, std::string source) {
  return {
    [function = std::move(function), how = std::move(how), source = std::move(source)](
      invoke_atom, const std::string& arguments, const std::string& instance_id,
      const std::string&) {
      auto args = arguments_of(arguments);
      if (!args)
        return to_result(args);
      auto event = publication_of(function, how.operation, source, *args, instance_id);
      if (!event)
        return invocation_result::failed(event.error().code, event.error().message);
      auto r = invocation_result::success("{}");
      r.publish_topic = how.operation.operation.topic;
      r.publish_event = std::move(*event);
      return r;
    },
    // Nothing goes out before the instance's step does: nothing to call
    // back.
    [](abandon_atom) {},
  };
}

} // namespace

expected<prepared_function> prepare_function(const binding_context& ctx, std::size_t index) {
  operation_lookup lookup{ctx.catalog, ctx.base_dir};
  return prepare_function(ctx, index, lookup);
}

expected<prepared_function> prepare_function(const binding_context& ctx, std::size_t index,
                                             operation_lookup& lookup) {
  const auto& w = *ctx.plan->definition;
  if (index >= w.functions.size())
    return fail("deploy", fmt::format("no function {}", index));
  const auto& f = w.functions[index];
  auto where = fmt::format("function '{}'", f.name);
  if (auto why = dsl::unsupported_function_type(f.type))
    return fail("deploy", fmt::format("{}: {}", where, *why));
  switch (f.type) {
    case dsl::function_type::expression: {
      auto id = ctx.plan->expression(fmt::format("functions[{}].operation", index));
      if (!id)
        return fail("deploy", where + ": its expression was not compiled");
      return prepared_function{index, prepared_function::expression{*id}};
    }
    case dsl::function_type::custom: {
      const auto* native = ctx.natives ? ctx.natives->find(f.operation) : nullptr;
      if (!native)
        return fail("deploy", fmt::format("{}: no native function '{}' is registered on this "
                                          "node",
                                          where, f.operation));
      return prepared_function{index, prepared_function::native{*native}};
    }
    case dsl::function_type::rest: {
      if (!ctx.http)
        return fail("deploy", where + ": this node has no HTTP client for REST calls");
      auto parts = transport::split_operation(f.operation);
      if (!parts)
        return fail("deploy", fmt::format("{}: {}", where, parts.error().message));
      auto doc = document_at(*ctx.http, ctx.base_dir, parts->first, ctx.document_timeout);
      if (!doc)
        return fail("deploy", fmt::format("{}: {}", where, doc.error().message));
      auto op = transport::find_operation(*doc, parts->first, parts->second);
      if (!op)
        return fail("deploy", fmt::format("{}: {}", where, op.error().message));
      return prepared_function{index, std::move(*op)};
    }
    case dsl::function_type::asyncapi: {
      auto bound = lookup.bind(where, f.operation, catalog::direction::produce);
      if (!bound)
        return tl::unexpected(std::move(bound.error()));
      return prepared_function{index, prepared_function::publish{std::move(*bound)}};
    }
    case dsl::function_type::rpc:
    case dsl::function_type::graphql:
    case dsl::function_type::odata:
      break;  // refused above: dsl::unsupported_function_type
  }
  return fail("deploy", where + ": unknown function type");
}

caf::actor bind_function(caf::actor_system& sys, const binding_context& ctx,
                         prepared_function prepared) {
  struct spawner {
    caf::actor_system& sys;
    const binding_context& ctx;
    std::size_t index;
    caf::actor operator()(prepared_function::expression& e) const {
      return sys.spawn(expression_binding, ctx.plan, e.id);
    }
    caf::actor operator()(prepared_function::native& n) const {
      return sys.spawn(native_binding, std::move(n.call));
    }
    caf::actor operator()(prepared_function::rest& op) const {
      return sys.spawn(rest_binding, std::move(op), ctx.http, ctx.http_timeout, ctx.limits,
                       ctx.max_concurrent_calls);
    }
    caf::actor operator()(prepared_function::publish& p) const {
      const auto& w = *ctx.plan->definition;
      return sys.spawn(asyncapi_binding, w.functions[index].name, std::move(p),
                       fmt::format("/meshflow/{}", w.identity()));
    }
  };
  return std::visit(spawner{sys, ctx, prepared.index}, prepared.how);
}

expected<caf::actor> bind_function(caf::actor_system& sys, const binding_context& ctx,
                                   std::size_t index) {
  auto prepared = prepare_function(ctx, index);
  if (!prepared)
    return tl::unexpected(std::move(prepared.error()));
  return bind_function(sys, ctx, std::move(*prepared));
}

expected<nlohmann::json> document_at(transport::http_client& http,
                                     const std::filesystem::path& base_dir,
                                     const std::string& uri, std::chrono::milliseconds timeout) {
  if (uri.starts_with("http://") || uri.starts_with("https://")) {
    auto body = transport::fetch(http, uri, timeout, max_document_bytes);
    if (!body)
      return tl::unexpected(body.error());
    return dsl::parse_document(*body, uri);
  }
  std::string_view path = uri;
  if (path.starts_with("file://"))
    path.remove_prefix(7);
  std::filesystem::path file{path};
  return dsl::read_document(file.is_absolute() ? file : base_dir / file);
}

} // namespace meshflow::actors
