// The lifecycle of a served model version, as TF Serving's servable states:
//
//   LOADING -> AVAILABLE -> UNLOADING -> END       (END: gone from the index)
//   LOADING -> FAILED(reason)                      (kept, with the reason, until the next load)
//
// One enum drives every view of it: ModelReady and per-model gRPC health (a model is ready while
// one of its versions is AVAILABLE), KServe RepositoryIndex (state and reason, in Triton's words:
// READY, LOADING, UNLOADING, UNAVAILABLE), ModelMetadata/Predict routing (AVAILABLE only) and the
// tristage_model_state metric.
#ifndef TRISTAGE_SERVER_SERVING_LIFECYCLE_H_
#define TRISTAGE_SERVER_SERVING_LIFECYCLE_H_

#include <cstdint>
#include <string>

namespace tristage::server {

enum class VersionState { kLoading, kAvailable, kUnloading, kEnd, kFailed };

// "LOADING", "AVAILABLE", "UNLOADING", "END", "FAILED".
const char* VersionStateName(VersionState state);
// Triton's model states for RepositoryIndex: READY (available), LOADING, UNLOADING, UNAVAILABLE
// (failed or ended).
const char* TritonStateName(VersionState state);

// Every state, in order (for metrics that report each).
inline constexpr VersionState kVersionStates[] = {VersionState::kLoading, VersionState::kAvailable,
                                                  VersionState::kUnloading, VersionState::kEnd,
                                                  VersionState::kFailed};

struct VersionStatus {
  std::string model;
  int64_t version = 0;
  VersionState state = VersionState::kLoading;
  std::string reason;  // FAILED: the load error; otherwise empty (or the last failed reload's)
};

}  // namespace tristage::server

#endif  // TRISTAGE_SERVER_SERVING_LIFECYCLE_H_
