# ccache, when present, with the sloppiness that lets it cache translation units built against a
# precompiled header (otherwise every PCH user is a miss).
if(TRISTAGE_USE_CCACHE)
  find_program(CCACHE_PROGRAM ccache)
  if(CCACHE_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER
        ${CMAKE_COMMAND} -E env
        "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
        ${CCACHE_PROGRAM})
    message(STATUS "tristage: using ccache at ${CCACHE_PROGRAM}")
  endif()
endif()
