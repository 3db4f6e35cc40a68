# Install layout and packages. Included last from the top CMakeLists.txt,
# once every target exists.
#
#   bin/mig                                  component mig
#   lib/mig/drivers/mig_driver_<name>.so     component driver_<name> (drivers/*/CMakeLists.txt)
#   share/mig/hooks/*.lua                    component mig
#   share/mig/templates/template.{sql,lua}   component mig
#   share/mig/example/                       component mig (the `make demo` project)
#   share/mig/schema/<command>.json          component mig (JSON Schema of each --json document)
#   share/man/man1/mig.1                     component mig
#   share/bash-completion/completions/mig    component mig
#   share/zsh/.../_mig                       component mig
#   share/doc/mig/                           component mig
#   include/mig/{driver,secret}.h            component dev (core/CMakeLists.txt)
#   lib/cmake/mig/, lib/pkgconfig/mig-driver.pc   component dev
#   lib/libmig.so.0*                         component libmig (core/CMakeLists.txt)
#   include/mig/mig.h, lib/libmig.so,
#   lib/pkgconfig/mig.pc, lib/cmake/mig/migLibTargets.cmake   component libmig_dev
#
# An installed mig finds drivers, hooks and templates at the paths compiled
# into it from CMAKE_INSTALL_PREFIX (MIG_INSTALL_DRIVER_DIR and
# MIG_INSTALL_DATA_DIR in the top CMakeLists.txt), and its drivers also
# beside the binary (../lib/mig/drivers), so a tree installed elsewhere with
# `cmake --install --prefix` still loads them.

include(CMakePackageConfigHelpers)

# ---- versions: one number, said in three places that must agree ----
file(STRINGS ${PROJECT_SOURCE_DIR}/core/include/mig/mig.h _mig_h_version
  REGEX "^#define MIG_VERSION +\"[^\"]*\"")
string(REGEX REPLACE ".*\"([^\"]*)\".*" "\\1" _mig_h_version "${_mig_h_version}")
if(NOT _mig_h_version STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "core/include/mig/mig.h says MIG_VERSION \"${_mig_h_version}\" but "
    "CMakeLists.txt says project(mig VERSION ${PROJECT_VERSION}): change both together "
    "(and add the release to CHANGELOG.md)")
endif()
file(STRINGS ${PROJECT_SOURCE_DIR}/core/include/mig/driver.h _mig_abi
  REGEX "^#define MIG_DRIVER_ABI +[0-9]+u")
string(REGEX REPLACE ".*MIG_DRIVER_ABI +([0-9]+)u.*" "\\1" MIG_DRIVER_ABI "${_mig_abi}")

# ---- data ----
install(FILES ${PROJECT_SOURCE_DIR}/migrations/template.sql ${PROJECT_SOURCE_DIR}/migrations/template.lua
  DESTINATION ${CMAKE_INSTALL_DATADIR}/mig/templates COMPONENT mig)
file(GLOB MIG_HOOK_SCRIPTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/hooks/*.lua)
if(MIG_HOOK_SCRIPTS)
  install(FILES ${MIG_HOOK_SCRIPTS} DESTINATION ${CMAKE_INSTALL_DATADIR}/mig/hooks COMPONENT mig)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/mig.ini DESTINATION ${CMAKE_INSTALL_DATADIR}/mig/example COMPONENT mig)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/migrations/versions
  DESTINATION ${CMAKE_INSTALL_DATADIR}/mig/example/migrations COMPONENT mig)
install(FILES ${PROJECT_SOURCE_DIR}/migrations/template.sql ${PROJECT_SOURCE_DIR}/migrations/template.lua
  DESTINATION ${CMAKE_INSTALL_DATADIR}/mig/example/migrations COMPONENT mig)

file(GLOB MIG_SCHEMAS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/schema/*.json)
install(FILES ${MIG_SCHEMAS} DESTINATION ${CMAKE_INSTALL_DATADIR}/mig/schema COMPONENT mig)

install(FILES ${PROJECT_SOURCE_DIR}/docs/mig.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT mig)
install(FILES ${PROJECT_SOURCE_DIR}/completions/mig.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME mig COMPONENT mig)
# zsh looks in vendor-completions for distribution packages, site-functions for local installs
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(MIG_ZSH_DIR ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
else()
  set(MIG_ZSH_DIR ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/completions/_mig DESTINATION ${MIG_ZSH_DIR} COMPONENT mig)

file(GLOB MIG_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md ${MIG_DOCS}
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT mig)

# ---- driver SDK: CMake package config and pkg-config ----
set(MIG_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mig)
set(MIG_DRIVER_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/mig/drivers)
install(EXPORT migTargets NAMESPACE mig:: DESTINATION ${MIG_CMAKE_DIR} COMPONENT dev)
# mig::mig lives in its own file, in libmig-dev: migConfig.cmake includes it
# when it is there, so the driver SDK works without the library.
install(EXPORT migLibTargets NAMESPACE mig:: DESTINATION ${MIG_CMAKE_DIR} COMPONENT libmig_dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/migConfig.cmake.in
  ${PROJECT_BINARY_DIR}/migConfig.cmake
  INSTALL_DESTINATION ${MIG_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR MIG_DRIVER_INSTALL_DIR)
# Before 1.0 a minor release may change the ABI: accept the same minor only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/migConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/migConfig.cmake ${PROJECT_BINARY_DIR}/migConfigVersion.cmake
  DESTINATION ${MIG_CMAKE_DIR} COMPONENT dev)

# The .pc file finds its prefix from its own place, so a relocated install works.
file(RELATIVE_PATH MIG_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" MIG_PC_TO_PREFIX "${MIG_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/mig-driver.pc.in ${PROJECT_BINARY_DIR}/mig-driver.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mig-driver.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
configure_file(${PROJECT_SOURCE_DIR}/cmake/mig.pc.in ${PROJECT_BINARY_DIR}/mig.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mig.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT libmig_dev)

# ---- Debian packages (cpack -G DEB) ----
# One package per component: mig, mig-dev, and mig-driver-<name> per driver,
# each driver depending on its own client library only, so a host without
# MariaDB libraries can install mig and mig-driver-postgres alone. Files are
# laid out under CMAKE_INSTALL_PREFIX, the prefix compiled into mig: build
# packages with -DCMAKE_INSTALL_PREFIX=/usr (see docs/drivers.md).
set(CPACK_PACKAGE_NAME mig)
set(CPACK_PACKAGE_VENDOR "mig")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "database schema migrations: a revision graph, driver plugins, Lua hooks, tenants")
set(CPACK_PACKAGE_CONTACT "mig developers <mig@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_DEBIAN_MIG_PACKAGE_NAME mig)
set(CPACK_COMPONENT_MIG_DESCRIPTION
  "database schema migrations for teams whose schema lives in version control\n"
  "mig applies a graph of SQL and Lua revision files to a database, with\n"
  "branches and merges, offline SQL, a migration lock, Lua hooks and\n"
  "multi-tenant runs. Database drivers come in the mig-driver-* packages.")
# mig opens libcrypto with dlopen (core/src/sha256.c), which shlibdeps cannot see
set(CPACK_DEBIAN_MIG_PACKAGE_DEPENDS "libssl3 | libssl3t64")
set(CPACK_DEBIAN_MIG_PACKAGE_RECOMMENDS "mig-driver-sqlite")
set(CPACK_DEBIAN_MIG_PACKAGE_SUGGESTS "mig-driver-postgres, mig-driver-mysql")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME mig-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "SDK for mig driver plugins\n"
  "The driver ABI header, a CMake package config (mig::driver_sdk,\n"
  "mig_add_driver) and a pkg-config file (mig-driver), to build a mig\n"
  "database driver out of tree.")
set(CPACK_COMPONENT_DEV_DEPENDS mig)
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)

# libmig for applications that embed it (docs/embedding.md): the shared
# library in libmig0 (named by its SONAME, with a shlibs file), the header,
# link, pkg-config file and mig::mig in libmig-dev. The mig command links
# libmig statically and needs neither.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_LIBMIG_PACKAGE_NAME libmig0)
set(CPACK_DEBIAN_LIBMIG_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_LIBMIG_DESCRIPTION
  "database schema migrations as a library (libmig)\n"
  "The library behind the mig command, for an application that migrates\n"
  "its own database at start-up. Database drivers come in the\n"
  "mig-driver-* packages.")
set(CPACK_DEBIAN_LIBMIG_PACKAGE_DEPENDS "libssl3 | libssl3t64")
set(CPACK_DEBIAN_LIBMIG_PACKAGE_RECOMMENDS "mig-driver-sqlite")
set(CPACK_DEBIAN_LIBMIG_DEV_PACKAGE_NAME libmig-dev)
set(CPACK_DEBIAN_LIBMIG_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_LIBMIG_DEV_DESCRIPTION
  "database schema migrations as a library (development files)\n"
  "mig/mig.h, the libmig.so link, a pkg-config file (mig) and the CMake\n"
  "target mig::mig (find_package(mig), from mig-dev).")
set(CPACK_COMPONENT_LIBMIG_DEV_DEPENDS libmig dev)
set(CPACK_DEBIAN_LIBMIG_DEV_PACKAGE_SHLIBDEPS OFF)

set(CPACK_COMPONENTS_ALL mig dev libmig libmig_dev)
foreach(drv sqlite postgres mysql)
  if(TARGET mig_driver_${drv})
    string(TOUPPER ${drv} DRV)
    list(APPEND CPACK_COMPONENTS_ALL driver_${drv})
    string(REPLACE "_" "-" _pkg "mig-driver-${drv}")
    set(CPACK_DEBIAN_DRIVER_${DRV}_PACKAGE_NAME ${_pkg})
    set(CPACK_COMPONENT_DRIVER_${DRV}_DEPENDS mig)
  endif()
endforeach()
set(CPACK_COMPONENT_DRIVER_SQLITE_DESCRIPTION "SQLite driver for mig\nmig_driver_sqlite.so, over the SQLite 3 library.")
set(CPACK_COMPONENT_DRIVER_POSTGRES_DESCRIPTION "PostgreSQL driver for mig\nmig_driver_postgres.so, over libpq.")
set(CPACK_COMPONENT_DRIVER_MYSQL_DESCRIPTION "MySQL and MariaDB driver for mig\nmig_driver_mysql.so, over MariaDB Connector/C.")

include(CPack)

# tests/cli/t_deb.sh installs the packages into this machine with dpkg -i:
# it runs alone (RUN_SERIAL), as this test; as the globbed cli_deb it skips.
if(MIG_BUILD_TESTS)
  add_test(NAME package_deb COMMAND bash ${PROJECT_SOURCE_DIR}/tests/cli/t_deb.sh)
  set_tests_properties(package_deb PROPERTIES
    ENVIRONMENT "MIG=$<TARGET_FILE:mig>;MIG_SRC=${PROJECT_SOURCE_DIR};MIG_BUILD=${CMAKE_BINARY_DIR};MIG_TEST_DEB=1"
    RUN_SERIAL ON SKIP_RETURN_CODE 77 TIMEOUT 1200)
endif()
