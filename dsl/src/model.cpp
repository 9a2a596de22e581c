#include "meshflow/dsl/model.hpp"

namespace meshflow::dsl {

source_position source_map::find(std::string_view path) const {
  std::string key{path};
  for (;;) {
    if (auto it = positions_.find(key); it != positions_.end() && it->second.line > 0)
      return it->second;
    auto cut = key.find_last_of(".[");
    if (cut == std::string::npos)
      break;
    key.resize(cut);
  }
  if (auto it = positions_.find(""); it != positions_.end())
    return it->second;
  return {};
}

std::string_view to_string(state_type t) {
  switch (t) {
    case state_type::sleep: return "sleep";
    case state_type::event: return "event";
    case state_type::operation: return "operation";
    case state_type::parallel: return "parallel";
    case state_type::switch_: return "switch";
    case state_type::inject: return "inject";
    case state_type::foreach: return "foreach";
    case state_type::callback: return "callback";
  }
  return "?";
}

std::string_view to_string(function_type t) {
  switch (t) {
    case function_type::rest: return "rest";
    case function_type::asyncapi: return "asyncapi";
    case function_type::rpc: return "rpc";
    case function_type::graphql: return "graphql";
    case function_type::odata: return "odata";
    case function_type::expression: return "expression";
    case function_type::custom: return "custom";
  }
  return "?";
}

std::optional<std::string> unsupported_function_type(function_type t) {
  switch (t) {
    case function_type::rest:
    case function_type::asyncapi:
    case function_type::expression:
    case function_type::custom:
      return std::nullopt;
    case function_type::rpc:
    case function_type::graphql:
    case function_type::odata:
      break;
  }
  return "function type " + std::string{to_string(t)} + " is not supported yet";
}

} // namespace meshflow::dsl
