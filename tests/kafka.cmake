# The `kafka` ctest fixture: one real Apache Kafka broker (scripts/kafka-local)
# for every test that needs it, started once before them and stopped after.
#
# A test that needs the broker:
#
#   meshflow_add_test(my_integration_tests
#     SOURCES ...
#     DEPS meshflow::test_kafka ...
#     LABELS integration
#     PROPERTIES ${MESHFLOW_KAFKA_TEST_PROPERTIES})
#
# and in C++ (tests/support/meshflow/testing/kafka.hpp):
#
#   auto bootstrap = meshflow::testing::kafka_bootstrap();
#   ASSERT_TRUE(bootstrap) << bootstrap.error().message;
#   // {"bootstrap.servers", *bootstrap}
#
# The broker's state (config, data, logs, pid) is in <build>/kafka; its
# address is in <build>/kafka/bootstrap while it runs. Topics persist for the
# whole ctest run: give each test fresh topic names.

set(MESHFLOW_KAFKA_DIR ${CMAKE_BINARY_DIR}/kafka)
set(MESHFLOW_KAFKA_BOOTSTRAP_FILE ${MESHFLOW_KAFKA_DIR}/bootstrap)

add_test(NAME kafka.start
  COMMAND ${CMAKE_COMMAND} -E env KAFKA_LOCAL_DIR=${MESHFLOW_KAFKA_DIR}
          ${PROJECT_SOURCE_DIR}/scripts/kafka-local start)
# The first run on a machine fetches the broker from Maven Central.
set_tests_properties(kafka.start PROPERTIES
  FIXTURES_SETUP kafka
  TIMEOUT 900
  LABELS integration)

add_test(NAME kafka.stop
  COMMAND ${CMAKE_COMMAND} -E env KAFKA_LOCAL_DIR=${MESHFLOW_KAFKA_DIR}
          ${PROJECT_SOURCE_DIR}/scripts/kafka-local stop)
set_tests_properties(kafka.stop PROPERTIES
  FIXTURES_CLEANUP kafka
  TIMEOUT 120
  LABELS integration)

# Test properties of a test that talks to the broker.
set(MESHFLOW_KAFKA_TEST_PROPERTIES
  FIXTURES_REQUIRED kafka
  ENVIRONMENT MESHFLOW_KAFKA_BOOTSTRAP_FILE=${MESHFLOW_KAFKA_BOOTSTRAP_FILE})

# The C++ helper that reads the address.
add_library(meshflow_test_kafka INTERFACE)
add_library(meshflow::test_kafka ALIAS meshflow_test_kafka)
target_include_directories(meshflow_test_kafka INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/support)
target_link_libraries(meshflow_test_kafka INTERFACE meshflow::dsl)
