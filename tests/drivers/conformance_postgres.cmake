# The PostgreSQL driver's conformance run (included by tests/drivers/CMakeLists.txt),
# against the server tests/servers.sh starts; skipped without one, failed
# under MIG_TEST_REQUIRE_SERVERS=1.
if(TARGET mig_driver_postgres)
  mig_add_conformance_test(drivers_conformance_postgres mig_driver_postgres
    "postgresql://\${MIG_TEST_PG_USER}@\${MIG_TEST_PG_HOST}:\${MIG_TEST_PG_PORT}/postgres")
  # nobody listens on port 1: the failure must be one line, password masked
  set_tests_properties(drivers_conformance_postgres PROPERTIES ENVIRONMENT
    "MIG_TEST_SERVERS_ENV=${CMAKE_BINARY_DIR}/test-servers.env;MIG_TEST_DRIVER_BAD_URL=postgresql://mig:s3cret@127.0.0.1:1/mig")
endif()
