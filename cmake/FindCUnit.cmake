# FindCUnit: CUnit has no CMake package of its own.
# Defines CUnit::CUnit and CUnit_FOUND.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_CUNIT QUIET cunit)
endif()
find_path(CUnit_INCLUDE_DIR CUnit/CUnit.h HINTS ${PC_CUNIT_INCLUDE_DIRS})
find_library(CUnit_LIBRARY NAMES cunit HINTS ${PC_CUNIT_LIBRARY_DIRS})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUnit REQUIRED_VARS CUnit_LIBRARY CUnit_INCLUDE_DIR)
if(CUnit_FOUND AND NOT TARGET CUnit::CUnit)
  add_library(CUnit::CUnit UNKNOWN IMPORTED)
  set_target_properties(CUnit::CUnit PROPERTIES
    IMPORTED_LOCATION "${CUnit_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CUnit_INCLUDE_DIR}")
endif()
mark_as_advanced(CUnit_INCLUDE_DIR CUnit_LIBRARY)
