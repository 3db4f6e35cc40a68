# The MySQL/MariaDB driver's test runs (included by tests/drivers/CMakeLists.txt):
#   drivers_conformance_mysql   the shared conformance program, on MariaDB, in
#                               a utf8mb4 database of its own (a bare server
#                               defaults to latin1), made and dropped by the
#                               driver_mysql_conformance_db_* fixtures
#   driver_mysql_offline        tests/drivers/test_mysql_driver.c: splitter,
#                               URLs, quoting; no server needed
#   driver_mysql_server         the same program's server tests: failing
#                               statement location, NUL bytes and UTF-8, a
#                               cursor with updates between fetches, GET_LOCK
#                               holders, USE switching, introspection
# The server comes from MIG_TEST_MY_HOST/PORT/USER, from the environment or
# test-servers.env (tests/servers.sh writes it); without one the server runs
# are skipped, and fail under MIG_TEST_REQUIRE_SERVERS=1.
if(TARGET mig_driver_mysql)
  add_executable(test_mysql_driver test_mysql_driver.c)
  target_include_directories(test_mysql_driver PRIVATE ${PROJECT_SOURCE_DIR}/core/include)
  target_link_libraries(test_mysql_driver PRIVATE CUnit::CUnit ${CMAKE_DL_LIBS})
  set(_mysql_env "MIG_TEST_SERVERS_ENV=${CMAKE_BINARY_DIR}/test-servers.env")

  add_test(NAME driver_mysql_offline
    COMMAND test_mysql_driver $<TARGET_FILE:mig_driver_mysql> offline)
  add_test(NAME driver_mysql_server
    COMMAND test_mysql_driver $<TARGET_FILE:mig_driver_mysql> server)
  set_tests_properties(driver_mysql_offline driver_mysql_server PROPERTIES
    ENVIRONMENT "${_mysql_env}" SKIP_RETURN_CODE 77 TIMEOUT 300)

  if(COMMAND mig_add_conformance_test)
    add_test(NAME driver_mysql_conformance_db_setup
      COMMAND test_mysql_driver $<TARGET_FILE:mig_driver_mysql> createdb mig_conformance)
    add_test(NAME driver_mysql_conformance_db_cleanup
      COMMAND test_mysql_driver $<TARGET_FILE:mig_driver_mysql> dropdb mig_conformance)
    set_tests_properties(driver_mysql_conformance_db_setup PROPERTIES
      ENVIRONMENT "${_mysql_env}" FIXTURES_SETUP mysql_conformance_db)
    set_tests_properties(driver_mysql_conformance_db_cleanup PROPERTIES
      ENVIRONMENT "${_mysql_env}" FIXTURES_CLEANUP mysql_conformance_db)
    mig_add_conformance_test(drivers_conformance_mysql mig_driver_mysql
      "mysql://\${MIG_TEST_MY_USER}@\${MIG_TEST_MY_HOST}:\${MIG_TEST_MY_PORT}/mig_conformance")
    set_tests_properties(drivers_conformance_mysql PROPERTIES FIXTURES_REQUIRED mysql_conformance_db)
  endif()
endif()
