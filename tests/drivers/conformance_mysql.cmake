# The MySQL/MariaDB driver's test runs (included by tests/drivers/CMakeLists.txt):
#   drivers_conformance_mysql   the shared conformance program, on MariaDB
#   driver_mysql_offline        drivers/mysql/test_mysql_driver.c: splitter,
#                               URLs, quoting; no server needed
#   driver_mysql_server         the same program's server tests: failing
#                               statement location, NUL bytes and UTF-8, a
#                               cursor with updates between fetches, GET_LOCK
#                               holders, USE switching, introspection
# The server comes from MIG_TEST_MY_HOST/PORT/USER (tests/servers.sh writes
# them to test-servers.env); without one the server runs are skipped, and
# fail under MIG_TEST_REQUIRE_SERVERS=1.
if(TARGET mig_driver_mysql)
  if(COMMAND mig_add_conformance_test)
    mig_add_conformance_test(drivers_conformance_mysql mig_driver_mysql
      "mysql://\${MIG_TEST_MY_USER}@\${MIG_TEST_MY_HOST}:\${MIG_TEST_MY_PORT}/mysql")
  endif()

  add_executable(test_mysql_driver ${PROJECT_SOURCE_DIR}/drivers/mysql/test_mysql_driver.c)
  target_include_directories(test_mysql_driver PRIVATE ${PROJECT_SOURCE_DIR}/core/include)
  target_link_libraries(test_mysql_driver PRIVATE CUnit::CUnit ${CMAKE_DL_LIBS})
  add_test(NAME driver_mysql_offline
    COMMAND test_mysql_driver $<TARGET_FILE:mig_driver_mysql> offline)
  add_test(NAME driver_mysql_server
    COMMAND test_mysql_driver $<TARGET_FILE:mig_driver_mysql> server)
  set_tests_properties(driver_mysql_offline driver_mysql_server PROPERTIES
    ENVIRONMENT "MIG_TEST_SERVERS_ENV=${CMAKE_BINARY_DIR}/test-servers.env"
    SKIP_RETURN_CODE 77
    TIMEOUT 300)
endif()
