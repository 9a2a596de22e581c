#pragma once

// Declarations of the dsl module's main types, for headers that only name them.

namespace meshflow::dsl {

struct action;
struct diagnostic;
struct event_def;
struct function_def;
struct load_options;
struct load_result;
struct plan;
struct state;
struct workflow;
class source_map;

} // namespace meshflow::dsl

namespace meshflow::jq {

class program;
class program_builder;
class value;

} // namespace meshflow::jq
