#pragma once

// Test-only fault injection: the places where tests of supervision and
// recovery make a node fail on purpose, as a bug or a crash would.
//
// Armed by the environment variable MESHFLOW_TEST_FAULTS, read once: a
// comma-separated list of `point` or `point=argument`. Each entry fires
// once per process. A node prints a warning at startup when any is armed;
// nothing sets it outside tests.
//
// Points:
//   instance.throw=STATE   the instance actor throws (as a bug would) after a
//                          message that left its instance in state STATE
//   crash-before-commit    the node dies (as kill -9 would) once the records
//                          of a transaction holding a business event are on
//                          the broker, before the transaction commits
//   crash-after-commit=N   the node dies (as kill -9 would) as soon as the
//                          Nth transaction holding the outputs of a batch
//                          of commands (a step) has committed: at a step
//                          boundary, with nothing after it written

#include <string>
#include <string_view>

namespace meshflow::actors::fault_injection {

/// Whether `point` is armed for `argument` (an entry without an argument
/// matches any) and has not fired yet; if so, it has fired now.
bool fires(std::string_view point, std::string_view argument = {});

/// The armed entries as written ("" when none), for the startup warning.
std::string armed();

} // namespace meshflow::actors::fault_injection
