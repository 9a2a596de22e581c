// Deploy-time cost of a definition: read + check + compile (issue target:
// <= 50 ms for 30 states and 20 distinct expressions), against the cost of
// one libjq compile, and the cost of evaluating a compiled expression.

#include <benchmark/benchmark.h>
#include <fmt/format.h>

extern "C" {
#include <jq.h>
}

#include "meshflow/dsl/load.hpp"
#include "meshflow/dsl/plan.hpp"
#include "meshflow/dsl/validate.hpp"

namespace {

using namespace meshflow::dsl;

/// 30 states: 10 switches (2 conditions each = 20 distinct expressions)
/// alternating with 20 inject/operation states.
std::string thirty_state_workflow() {
  std::string w = "id: bench\nversion: '1'\nspecVersion: '0.8'\n"
                  "functions:\n  - name: f\n    operation: http://example.com/api.json#op\n"
                  "states:\n";
  int expr = 0;
  for (int i = 0; i < 30; ++i) {
    auto next = i + 1 < 30 ? fmt::format("transition: s{}", i + 1) : std::string{"end: true"};
    if (i % 3 == 0) {
      w += fmt::format("  - name: s{}\n    type: switch\n    dataConditions:\n", i);
      for (int c = 0; c < 2; ++c, ++expr)
        w += fmt::format("      - condition: '${{ .items | map(select(.price > {})) | length > {} }}'\n"
                         "        {}\n",
                         expr, c, i + 1 < 30 ? fmt::format("transition: s{}", i + 1) : "end: true");
      w += fmt::format("    defaultCondition:\n      {}\n", next);
    } else if (i % 3 == 1) {
      w += fmt::format("  - name: s{}\n    type: inject\n    data:\n      step: {}\n    {}\n", i, i,
                       next);
    } else {
      w += fmt::format("  - name: s{}\n    type: operation\n    actions:\n      - functionRef:\n"
                       "          refName: f\n          arguments:\n            n: 1\n    {}\n",
                       i, next);
    }
  }
  return w;
}

void validate_and_compile(benchmark::State& state) {
  auto text = thirty_state_workflow();
  std::size_t expressions = 0;
  for (auto _ : state) {
    auto loaded = load_workflow_text(text, "bench.yaml", ".");
    auto checked = check_references(*loaded.workflow, severity::error);
    auto compiled = compile(std::make_shared<const workflow>(std::move(*loaded.workflow)));
    if (!compiled.plan || has_errors(checked)) {
      state.SkipWithError("the benchmark workflow does not compile");
      return;
    }
    expressions = compiled.plan->expressions->size();
    benchmark::DoNotOptimize(compiled.plan);
  }
  state.counters["expressions"] = static_cast<double>(expressions);
}
BENCHMARK(validate_and_compile)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void read_and_check_only(benchmark::State& state) {
  auto text = thirty_state_workflow();
  for (auto _ : state) {
    auto loaded = load_workflow_text(text, "bench.yaml", ".");
    benchmark::DoNotOptimize(check_references(*loaded.workflow, severity::error));
  }
}
BENCHMARK(read_and_check_only)->Unit(benchmark::kMicrosecond);

void libjq_compile_of_one_expression(benchmark::State& state) {
  for (auto _ : state) {
    jq_state* jq = jq_init();
    benchmark::DoNotOptimize(jq_compile(jq, ".items | map(select(.price > 3)) | length > 1"));
    jq_teardown(&jq);
  }
}
BENCHMARK(libjq_compile_of_one_expression)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void evaluate_compiled_condition(benchmark::State& state) {
  auto loaded = load_workflow_text(thirty_state_workflow(), "bench.yaml", ".");
  auto compiled = compile(std::make_shared<const workflow>(std::move(*loaded.workflow)));
  auto id = *compiled.plan->expression("states[0].dataConditions[0].condition");
  auto data = *meshflow::jq::value::parse(
    R"({"items":[{"price":1},{"price":5},{"price":9}],"customer":"c-1"})");
  for (auto _ : state)
    benchmark::DoNotOptimize(compiled.plan->expressions->evaluate(id, data));
}
BENCHMARK(evaluate_compiled_condition)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
