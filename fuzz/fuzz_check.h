// FUZZ_CHECK(condition, message): a property the fuzzed code promises, checked after the code under
// test returned; a violation aborts, so libFuzzer keeps the input as a crash like any other.
#ifndef TRISTAGE_FUZZ_FUZZ_CHECK_H_
#define TRISTAGE_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, message)                                                           \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "%s:%d: property failed: %s\n  %s\n", __FILE__, __LINE__, #condition, \
                   std::string(message).c_str());                                                \
      std::abort();                                                                              \
    }                                                                                            \
  } while (false)

#endif  // TRISTAGE_FUZZ_FUZZ_CHECK_H_
