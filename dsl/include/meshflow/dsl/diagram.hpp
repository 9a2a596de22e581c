#pragma once

#include <string>

#include "meshflow/dsl/model.hpp"

namespace meshflow::dsl {

enum class diagram_format { dot, mermaid };

/// The graph of a workflow's states: transitions as plain edges, condition
/// edges labelled with the condition's name, error edges dashed and labelled
/// with the error, compensation edges dotted; the start and the ends marked.
std::string render_diagram(const workflow& w, diagram_format format);

} // namespace meshflow::dsl
