# TRISTAGE_SANITIZE: build every target (and so the daemon and CLI the tests start) with sanitizers.
#   ""                  none (the default)
#   "address,undefined" AddressSanitizer + UndefinedBehaviorSanitizer (scripts/sanitize asan)
#   "thread"            ThreadSanitizer (scripts/sanitize tsan)
# The flags go on compile and link options of every target, with -O1 -g and frame pointers so
# reports carry whole stacks. jemalloc stays out of sanitized builds (server/CMakeLists.txt): it
# would replace the malloc the sanitizer intercepts. See docs/sanitizers.md.
set(TRISTAGE_SANITIZE "" CACHE STRING
    "Sanitizers: empty, address,undefined or thread (docs/sanitizers.md)")
set_property(CACHE TRISTAGE_SANITIZE PROPERTY STRINGS "" "address,undefined" "thread")

if(TRISTAGE_SANITIZE)
  if(NOT TRISTAGE_SANITIZE MATCHES "^(address,undefined|address|undefined|thread)$")
    message(FATAL_ERROR "TRISTAGE_SANITIZE=${TRISTAGE_SANITIZE}: expected address,undefined or thread")
  endif()
  message(STATUS "tristage: building with -fsanitize=${TRISTAGE_SANITIZE}")
  add_compile_options(-fsanitize=${TRISTAGE_SANITIZE} -O1 -g -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${TRISTAGE_SANITIZE})
  # ThreadSanitizer sees a mutex only when the mutex's own code is instrumented. Every lock in
  # tristage is an absl::Mutex, whose Lock/Unlock live in Debian's uninstrumented libabsl: without
  # an instrumented abseil every guarded member would be reported. scripts/sanitize builds one and
  # passes its lib directory here; DT_RPATH (not RUNPATH) makes it win for gRPC's libraries too.
  set(TRISTAGE_TSAN_ABSEIL_LIBDIR "" CACHE PATH "TSan-instrumented abseil (scripts/sanitize tsan)")
  if(TRISTAGE_SANITIZE STREQUAL "thread" AND TRISTAGE_TSAN_ABSEIL_LIBDIR)
    add_link_options(-Wl,--disable-new-dtags -Wl,-rpath,${TRISTAGE_TSAN_ABSEIL_LIBDIR})
  endif()
endif()
