// Compiled with the CLI's include path by the test architecture.CliCannotIncludeCoreInternals
// (tests/CMakeLists.txt), which passes only when this fails to compile for want of the header.
#include "core/api/model.h"  // public: found
#include "core/model/ecd.h"  // internal: not found
