#include "meshflow/actors/function_binding.hpp"

#include <fmt/format.h>

#include "meshflow/dsl/document.hpp"
#include "meshflow/transport/rest.hpp"

namespace meshflow::actors {

namespace {

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
    [plan, id](invoke_atom, const std::string& arguments) {
      auto input = jq::value::parse(arguments);
      if (!input)
        return invocation_result::failed("arguments", "the action's input is not JSON");
      auto r = plan->expressions->evaluate(id, *input);
      if (!r)
        return invocation_result::failed(r.error().code, r.error().message);
      return invocation_result::success(r->dump());
    },
  };
}

caf::behavior native_binding(caf::event_based_actor*, native_function f) {
  return {
    [f](invoke_atom, const std::string& arguments) {
      auto args = arguments_of(arguments);
      if (!args)
        return to_result(args);
      return to_result(f(*args));
    },
  };
}

caf::behavior rest_binding(caf::event_based_actor*, transport::rest_operation op,
                           std::chrono::milliseconds timeout) {
  return {
    [op, timeout](invoke_atom, const std::string& arguments) {
      auto args = arguments_of(arguments);
      if (!args)
        return to_result(args);
      return to_result(transport::call(op, *args, timeout));
    },
  };
}

} // namespace

expected<caf::actor> bind_function(caf::actor_system& sys, const binding_context& ctx,
                                   std::size_t index) {
  const auto& w = *ctx.plan->definition;
  if (index >= w.functions.size())
    return fail("deploy", fmt::format("no function {}", index));
  const auto& f = w.functions[index];
  auto where = fmt::format("function '{}'", f.name);
  switch (f.type) {
    case dsl::function_type::expression: {
      auto id = ctx.plan->expression(fmt::format("functions[{}].operation", index));
      if (!id)
        return fail("deploy", where + ": its expression was not compiled");
      return sys.spawn(expression_binding, ctx.plan, *id);
    }
    case dsl::function_type::custom: {
      const auto* native = ctx.natives ? ctx.natives->find(f.operation) : nullptr;
      if (!native)
        return fail("deploy", fmt::format("{}: no native function '{}' is registered on this "
                                          "node",
                                          where, f.operation));
      return sys.spawn(native_binding, *native);
    }
    case dsl::function_type::rest: {
      auto parts = transport::split_operation(f.operation);
      if (!parts)
        return fail("deploy", fmt::format("{}: {}", where, parts.error().message));
      auto doc = document_at(ctx.base_dir, parts->first, ctx.http_timeout);
      if (!doc)
        return fail("deploy", fmt::format("{}: {}", where, doc.error().message));
      auto op = transport::find_operation(*doc, parts->first, parts->second);
      if (!op)
        return fail("deploy", fmt::format("{}: {}", where, op.error().message));
      return sys.spawn<caf::detached>(rest_binding, std::move(*op), ctx.http_timeout);
    }
    case dsl::function_type::asyncapi:
      return fail("deploy", fmt::format("{}: asyncapi functions come with the Kafka runtime; "
                                        "not supported yet",
                                        where));
    case dsl::function_type::rpc:
    case dsl::function_type::graphql:
    case dsl::function_type::odata:
      return fail("deploy", fmt::format("{}: function type {} is not supported yet", where,
                                        dsl::to_string(f.type)));
  }
  return fail("deploy", where + ": unknown function type");
}

expected<nlohmann::json> document_at(const std::filesystem::path& base_dir,
                                     const std::string& uri, std::chrono::milliseconds timeout) {
  if (uri.starts_with("http://") || uri.starts_with("https://")) {
    auto body = transport::fetch(uri, timeout);
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
