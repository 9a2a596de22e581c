#pragma once

// The JSON of an operation, shared by `to_json(service)` and
// `to_json(bound_operation)`.

#include <nlohmann/json.hpp>

#include "meshflow/catalog/asyncapi.hpp"

namespace meshflow::catalog::detail {

nlohmann::json operation_json(const operation& op);

} // namespace meshflow::catalog::detail
