# The PostgreSQL driver's test runs (included by tests/drivers/CMakeLists.txt):
#   drivers_conformance_postgres  the shared conformance program
#   driver_postgres               tests/drivers/test_postgres.c: scripts with
#                                 function bodies and DO blocks, error location,
#                                 CREATE INDEX CONCURRENTLY, cursor + exec over
#                                 10,000 rows, the advisory lock and its holder,
#                                 schemas, introspection
# against the server tests/servers.sh starts (test-servers.env); skipped
# without one, failed under MIG_TEST_REQUIRE_SERVERS=1.
if(TARGET mig_driver_postgres)
  mig_add_conformance_test(drivers_conformance_postgres mig_driver_postgres
    "postgresql://\${MIG_TEST_PG_USER}@\${MIG_TEST_PG_HOST}:\${MIG_TEST_PG_PORT}/postgres")
  # nobody listens on port 1: the failure must be one line, password masked
  set_tests_properties(drivers_conformance_postgres PROPERTIES ENVIRONMENT
    "MIG_TEST_SERVERS_ENV=${CMAKE_BINARY_DIR}/test-servers.env;MIG_TEST_DRIVER_BAD_URL=postgresql://mig:s3cret@127.0.0.1:1/mig")

  add_executable(test_postgres test_postgres.c)
  target_include_directories(test_postgres PRIVATE ${PROJECT_SOURCE_DIR}/core/include)
  target_compile_definitions(test_postgres PRIVATE
    MIG_PG_DRIVER_SO="$<TARGET_FILE:mig_driver_postgres>")
  find_package(Threads REQUIRED)
  target_link_libraries(test_postgres PRIVATE CUnit::CUnit Threads::Threads ${CMAKE_DL_LIBS} m)
  add_dependencies(test_postgres mig_driver_postgres)
  add_test(NAME driver_postgres COMMAND test_postgres)
  set_tests_properties(driver_postgres PROPERTIES
    ENVIRONMENT "MIG_TEST_SERVERS_ENV=${CMAKE_BINARY_DIR}/test-servers.env"
    SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
