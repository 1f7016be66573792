#include "tests/testing/fake_servable.h"

#include <utility>

#include "absl/strings/match.h"

namespace tristage::testing {
namespace {

class FakeBatch final : public exporting::ServableBatch {
 public:
  std::vector<std::string> cells;
};

class FakeServable final : public exporting::Servable {
 public:
  explicit FakeServable(const FakeModels* models) : models_(models), manifest_(FakeManifest()) {}

  const exporting::Manifest& manifest() const override { return manifest_; }

  absl::StatusOr<std::unique_ptr<exporting::ServableBatch>> Preprocess(
      const exporting::InputColumns& columns) const override {
    auto batch = std::make_unique<FakeBatch>();
    const exporting::InputColumn& x = columns.at("x");
    for (const std::string& cell : x.strings) {
      if (cell == "bad") return absl::InvalidArgumentError("feature 'x': 'bad' is refused");
      batch->cells.push_back(cell);
    }
    return batch;
  }

  absl::Status Predict(exporting::ServableBatch& batch) const override {
    if (!static_cast<FakeBatch&>(batch).cells.empty()) models_->PredictGate();
    return absl::OkStatus();
  }

  absl::StatusOr<exporting::OutputMap> Postprocess(exporting::ServableBatch& batch) const override {
    exporting::OutputValues y;
    y.type = "number";
    for (const std::string& cell : static_cast<FakeBatch&>(batch).cells) {
      y.numbers.push_back(static_cast<float>(cell.size()));
    }
    return exporting::OutputMap{{"y", std::move(y)}};
  }

 private:
  const FakeModels* const models_;
  const exporting::Manifest manifest_;
};

}  // namespace

exporting::Manifest FakeManifest() {
  exporting::Manifest manifest;
  manifest.model_id = "fake";
  manifest.device = "cpu";
  exporting::InputSpec x;
  x.name = "x";
  x.column = "x";
  x.type = "text";
  manifest.inputs.push_back(x);
  exporting::OutputSpec y;
  y.name = "y";
  y.type = "number";
  manifest.outputs.push_back(y);
  return manifest;
}

server::ServableLoader FakeModels::Loader() {
  return [this](const std::string& directory,
                const server::ServingConfig&) -> absl::StatusOr<std::unique_ptr<exporting::Servable>> {
    absl::MutexLock lock(&mu_);
    ++loads_;
    ++loads_waiting_;
    mu_.Await(absl::Condition(+[](bool* hold) { return !*hold; }, &hold_loads_));
    --loads_waiting_;
    for (const auto& [suffix, status] : failures_) {
      if (absl::EndsWith(directory, suffix) && !status.ok()) return status;
    }
    return std::make_unique<FakeServable>(this);
  };
}

void FakeModels::FailLoads(const std::string& suffix, absl::Status status) {
  absl::MutexLock lock(&mu_);
  failures_[suffix] = std::move(status);
}

void FakeModels::HoldLoads() {
  absl::MutexLock lock(&mu_);
  hold_loads_ = true;
}

void FakeModels::ReleaseLoads() {
  absl::MutexLock lock(&mu_);
  hold_loads_ = false;
}

void FakeModels::HoldPredicts() {
  absl::MutexLock lock(&mu_);
  hold_predicts_ = true;
}

void FakeModels::ReleasePredicts() {
  absl::MutexLock lock(&mu_);
  hold_predicts_ = false;
}

int FakeModels::loads() const {
  absl::MutexLock lock(&mu_);
  return loads_;
}

int FakeModels::loads_waiting() const {
  absl::MutexLock lock(&mu_);
  return loads_waiting_;
}

int FakeModels::predicts_waiting() const {
  absl::MutexLock lock(&mu_);
  return predicts_waiting_;
}

void FakeModels::AwaitLoadsWaiting(int count) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return loads_waiting_ >= count;
  };
  mu_.Await(absl::Condition(&enough));
}

void FakeModels::AwaitPredictsWaiting(int count) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return predicts_waiting_ >= count;
  };
  mu_.Await(absl::Condition(&enough));
}

void FakeModels::PredictGate() const {
  absl::MutexLock lock(&mu_);
  ++predicts_waiting_;
  mu_.Await(absl::Condition(+[](const bool* hold) { return !*hold; }, &hold_predicts_));
  --predicts_waiting_;
}

}  // namespace tristage::testing
