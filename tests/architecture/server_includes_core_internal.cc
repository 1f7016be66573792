// Compiled with the daemon's include path by the test architecture.DaemonCannotIncludeCoreInternals
// (tests/CMakeLists.txt), which passes only when this fails to compile for want of the header:
// core's internals are not on the daemon's include path (core/CMakeLists.txt, public headers).
#include "core/export/servable.h"  // public: found
#include "core/export/stages.h"    // internal: not found
