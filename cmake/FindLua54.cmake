# FindLua54: CMake's FindLua may pick another Lua; mig needs 5.4 exactly.
# Defines Lua54::Lua54 and Lua54_FOUND.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_LUA54 QUIET lua5.4)
endif()
find_path(Lua54_INCLUDE_DIR lua.h HINTS ${PC_LUA54_INCLUDE_DIRS} PATH_SUFFIXES lua5.4)
find_library(Lua54_LIBRARY NAMES lua5.4 lua54 HINTS ${PC_LUA54_LIBRARY_DIRS})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Lua54 REQUIRED_VARS Lua54_LIBRARY Lua54_INCLUDE_DIR)
if(Lua54_FOUND AND NOT TARGET Lua54::Lua54)
  add_library(Lua54::Lua54 UNKNOWN IMPORTED)
  set_target_properties(Lua54::Lua54 PROPERTIES
    IMPORTED_LOCATION "${Lua54_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${Lua54_INCLUDE_DIR}")
endif()
mark_as_advanced(Lua54_INCLUDE_DIR Lua54_LIBRARY)
