#pragma once

// Where the `kafka` ctest fixture's broker listens (see tests/kafka.cmake).

#include <cstdlib>
#include <fstream>
#include <string>

#include "meshflow/error.hpp"

namespace meshflow::testing {

/// The broker's `host:port`: the environment variable
/// MESHFLOW_KAFKA_BOOTSTRAP when set (to run a test binary by hand against
/// any broker), else the first line of the file named by
/// MESHFLOW_KAFKA_BOOTSTRAP_FILE (set by ctest for tests with
/// ${MESHFLOW_KAFKA_TEST_PROPERTIES}).
inline expected<std::string> kafka_bootstrap() {
  if (const char* address = std::getenv("MESHFLOW_KAFKA_BOOTSTRAP"); address && *address)
    return std::string(address);
  const char* path = std::getenv("MESHFLOW_KAFKA_BOOTSTRAP_FILE");
  if (!path || !*path)
    return fail("kafka", "no Kafka broker: run this test through ctest (fixture "
                         "`kafka`), or start one with scripts/kafka-local start and "
                         "set MESHFLOW_KAFKA_BOOTSTRAP=127.0.0.1:PORT");
  std::ifstream in(path);
  std::string address;
  if (!in || !std::getline(in, address) || address.empty())
    return fail("kafka", std::string("no Kafka broker: cannot read an address from ")
                           + path + " (did the kafka.start test fail?)");
  return address;
}

} // namespace meshflow::testing
