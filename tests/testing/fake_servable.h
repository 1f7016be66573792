// FakeServable: a Servable (core/export/servable.h) without a model, for testing what serves one
// (the pipeline, the ModelManager, the RPCs) deterministically. One string input "x", one number
// output "y" = the length of x. A FakeModels registry makes them for version directories and lets
// a test make a load fail, block, or make Predict block until it is released.
//
// Thread safety: every method from any thread.
#ifndef TRISTAGE_TESTS_TESTING_FAKE_SERVABLE_H_
#define TRISTAGE_TESTS_TESTING_FAKE_SERVABLE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "core/export/servable.h"
#include "server/serving/model_manager.h"

namespace tristage::testing {

class FakeModels {
 public:
  // The loader to give a ModelManager or Server: a FakeServable per directory, or the failure set
  // by FailLoads; it waits while loads are held.
  server::ServableLoader Loader();

  // Loads of directories ending in `suffix` (e.g. "m/2") fail with `status` (Ok: they succeed).
  void FailLoads(const std::string& suffix, absl::Status status);
  // While held, loads wait (before failing or succeeding); Release lets them go.
  void HoldLoads();
  void ReleaseLoads();
  // While held, Predict waits; ReleasePredicts lets them go.
  void HoldPredicts();
  void ReleasePredicts();

  // Loads made (and loads currently waiting) and Predict calls waiting.
  int loads() const;
  int loads_waiting() const;
  int predicts_waiting() const;
  // Blocks until `count` loads / predicts wait.
  void AwaitLoadsWaiting(int count) const;
  void AwaitPredictsWaiting(int count) const;

  // Called by FakeServable::Predict.
  void PredictGate() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  bool hold_loads_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_predicts_ ABSL_GUARDED_BY(mu_) = false;
  int loads_ ABSL_GUARDED_BY(mu_) = 0;
  int loads_waiting_ ABSL_GUARDED_BY(mu_) = 0;
  mutable int predicts_waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

// The manifest every FakeServable has.
exporting::Manifest FakeManifest();

}  // namespace tristage::testing

#endif  // TRISTAGE_TESTS_TESTING_FAKE_SERVABLE_H_
