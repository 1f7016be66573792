// bench/stages: the serving limit. Runs an export's three stages in-process on one thread, as a
// plain loop (preprocess -> predict -> postprocess -> decode), at several batch sizes, and prints
// rows/s per batch size, the best, and the single-row pipeline time. bench/loadgen's served
// figures are read against these.
//
//   stages EXPORT_DIR DATASET [--seconds 3] [--threads 1]
#include "core/export/servable.h"


#include <algorithm>
#include <iostream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "core/api/model.h"
#include "core/platform/system_info.h"

namespace {

using tristage::exporting::InputColumns;

InputColumns Rows(const tristage::exporting::Manifest& manifest, const tristage::data::Table& table,
                  int64_t begin, int64_t count) {
  InputColumns columns;
  for (const auto& input : manifest.inputs) {
    const auto& values = (**table.Get(input.column)).values;
    auto& out = columns[input.name].strings;
    for (int64_t i = 0; i < count; ++i) out.push_back(values[(begin + i) % values.size()]);
  }
  return columns;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: stages EXPORT_DIR DATASET [--seconds S] [--threads N]\n";
    return 2;
  }
  double seconds = 3;
  int threads = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") (void)absl::SimpleAtod(argv[i + 1], &seconds);
    if (flag == "--threads") (void)absl::SimpleAtoi(argv[i + 1], &threads);
  }
  tristage::SetComputeThreads(threads);
  // The daemon's view of the export: its Servable, steps timed one by one.
  auto loaded = tristage::exporting::LoadServable(argv[1], {});
  auto table = tristage::ReadDataset(argv[2]);
  if (!loaded.ok() || !table.ok()) {
    std::cerr << (loaded.ok() ? table.status() : loaded.status()) << "\n";
    return 1;
  }
  const tristage::exporting::Servable& servable = **loaded;
  const tristage::exporting::Manifest& manifest = servable.manifest();
  auto run = [&servable](const InputColumns& columns) {
    auto batch = servable.Preprocess(columns);
    if (batch.ok() && servable.Predict(**batch).ok()) (void)servable.Postprocess(**batch);
  };
  const tristage::SystemInfo system = tristage::CollectSystemInfo();
  std::cout << "machine: " << system.hardware_threads << " hardware threads, BLAS "
            << system.blas_kind << ", " << threads << " compute thread(s); one caller thread\n";
  double best = 0;
  int64_t best_batch = 0;
  double single_row_us = 0;
  double single_row_p50_us = 0;
  for (int64_t batch : {1, 2, 4, 8, 16, 32, 64}) {
    int64_t rows = 0, calls = 0, offset = 0;
    double pre_s = 0, pred_s = 0, post_s = 0;
    std::vector<double> call_us;  // per call, for the median
    // Untimed calls first: TorchScript profiles a graph's first runs for each new input shape.
    for (int i = 0; i < 5; ++i) run(Rows(manifest, *table, i * batch, batch));
    const absl::Time start = absl::Now();
    while (absl::Now() - start < absl::Seconds(seconds)) {
      const InputColumns columns = Rows(manifest, *table, offset, batch);
      offset += batch;
      const absl::Time call_start = absl::Now();
      absl::Time t = call_start;
      auto pre = servable.Preprocess(columns);
      pre_s += absl::ToDoubleSeconds(absl::Now() - t);
      if (!pre.ok()) {
        std::cerr << pre.status() << "\n";
        return 1;
      }
      t = absl::Now();
      const absl::Status predicted = servable.Predict(**pre);
      pred_s += absl::ToDoubleSeconds(absl::Now() - t);
      t = absl::Now();
      auto decoded = predicted.ok() ? servable.Postprocess(**pre)
                                    : absl::StatusOr<tristage::exporting::OutputMap>(predicted);
      post_s += absl::ToDoubleSeconds(absl::Now() - t);
      if (!decoded.ok()) {
        std::cerr << decoded.status() << "\n";
        return 1;
      }
      call_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - call_start));
      rows += batch;
      ++calls;
    }
    const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
    const double rows_per_s = rows / elapsed;
    if (batch == 1) {
      single_row_us = elapsed / calls * 1e6;
      std::nth_element(call_us.begin(), call_us.begin() + call_us.size() / 2, call_us.end());
      single_row_p50_us = call_us[call_us.size() / 2];
    }
    if (rows_per_s > best) {
      best = rows_per_s;
      best_batch = batch;
    }
    std::cout << absl::StrFormat(
        "batch %3d  %9.1f rows/s  per call %8.1f us (preprocess %7.1f, predict %7.1f, "
        "postprocess %7.1f)\n",
        batch, rows_per_s, elapsed / calls * 1e6, pre_s / calls * 1e6, pred_s / calls * 1e6,
        post_s / calls * 1e6);
  }
  std::cout << absl::StrFormat(
      "single row: mean %.1f us per call (with the caller's loop), median %.1f us per call\n",
      single_row_us, single_row_p50_us);
  std::cout << absl::StrFormat(
      "{\"best_rows_per_s\": %.1f, \"best_batch\": %d, \"single_row_us\": %.1f, "
      "\"single_row_p50_us\": %.1f}\n",
      best, best_batch, single_row_us, single_row_p50_us);
  return 0;
}
