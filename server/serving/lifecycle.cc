#include "server/serving/lifecycle.h"

namespace tristage::server {

const char* VersionStateName(VersionState state) {
  switch (state) {
    case VersionState::kLoading: return "LOADING";
    case VersionState::kAvailable: return "AVAILABLE";
    case VersionState::kUnloading: return "UNLOADING";
    case VersionState::kEnd: return "END";
    case VersionState::kFailed: return "FAILED";
  }
  return "UNKNOWN";
}

const char* TritonStateName(VersionState state) {
  switch (state) {
    case VersionState::kLoading: return "LOADING";
    case VersionState::kAvailable: return "READY";
    case VersionState::kUnloading: return "UNLOADING";
    case VersionState::kEnd:
    case VersionState::kFailed: return "UNAVAILABLE";
  }
  return "UNKNOWN";
}

}  // namespace tristage::server
