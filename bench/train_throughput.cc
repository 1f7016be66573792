// bench/train_throughput: preprocessing and training speed of the engine on a fixed synthetic
// config, next to a bare eager-libtorch loop training the same architecture on the same tensors.
//
// Config: 100k rows (override with argv[1]); inputs 5 number, 4 category, 1 text (embed encoder,
// mean); outputs binary and category; concat combiner; adam; batch 128; 2 epochs (argv[2]).
// Prints one line per measurement and a JSON summary on the last line.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_format.h"
#include "core/api/synthesize.h"
#include "core/config/config.h"
#include "core/model/ecd.h"
#include "core/preprocessing/preprocessing.h"
#include "core/training/trainer.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Encoders are pinned (numbers passthrough, text embed/mean) so the eager model below stays the
// same architecture whatever the defaults become.
json BenchConfig(int64_t epochs) {
  json config = json::parse(R"({
    "input_features": [
      {"name": "n1", "type": "number", "encoder": "passthrough"},
      {"name": "n2", "type": "number", "encoder": "passthrough"},
      {"name": "n3", "type": "number", "encoder": "passthrough"},
      {"name": "n4", "type": "number", "encoder": "passthrough"},
      {"name": "n5", "type": "number", "encoder": "passthrough"},
      {"name": "c1", "type": "category", "vocab_size": 10},
      {"name": "c2", "type": "category", "vocab_size": 20},
      {"name": "c3", "type": "category", "vocab_size": 50},
      {"name": "c4", "type": "category", "vocab_size": 100},
      {"name": "text", "type": "text", "vocab_size": 500, "max_len": 20,
       "encoder": {"type": "embed", "reduce_output": "mean"}}],
    "output_features": [{"name": "yb", "type": "binary"},
                        {"name": "yc", "type": "category", "vocab_size": 5}],
    "preprocessing": {"split": {"type": "random", "probabilities": [1.0, 0.0, 0.0]}},
    "trainer": {"batch_size": 128, "early_stop": -1}})");
  config["trainer"]["epochs"] = epochs;
  return config;
}

// The same architecture as the resolved config, in eager torch::nn.
struct EagerEcd : torch::nn::Module {
  EagerEcd(const std::vector<int64_t>& vocabs, int64_t text_vocab, int64_t classes) {
    for (size_t i = 0; i < vocabs.size(); ++i) {
      categories.push_back(
          register_module("c" + std::to_string(i), torch::nn::Embedding(vocabs[i], 50)));
    }
    text = register_module("text", torch::nn::Embedding(text_vocab, 256));
    const int64_t width = 5 + 50 * static_cast<int64_t>(vocabs.size()) + 256;
    binary = register_module("binary", torch::nn::Linear(width, 1));
    category = register_module("category", torch::nn::Linear(width, classes));
  }
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& numbers,
                                                  const std::vector<torch::Tensor>& cats,
                                                  const torch::Tensor& tokens) {
    std::vector<torch::Tensor> parts = {numbers};
    for (size_t i = 0; i < cats.size(); ++i) parts.push_back(categories[i](cats[i]));
    const torch::Tensor mask = tokens.ne(0).to(torch::kFloat).unsqueeze(-1);
    parts.push_back((text(tokens) * mask).sum(1) / mask.sum(1).clamp_min(1.0));
    const torch::Tensor h = torch::cat(parts, 1);
    return {binary(h).squeeze(-1), category(h)};
  }
  std::vector<torch::nn::Embedding> categories;
  torch::nn::Embedding text{nullptr};
  torch::nn::Linear binary{nullptr}, category{nullptr};
};

double EagerRowsPerSecond(const tristage::preprocessing::ProcessedSplit& split,
                          const json& metadata, int64_t epochs) {
  std::vector<int64_t> vocabs;
  for (const char* c : {"c1", "c2", "c3", "c4"}) vocabs.push_back(metadata[c]["vocab_size"]);
  torch::manual_seed(42);
  EagerEcd model(vocabs, metadata["text"]["vocab_size"], metadata["yc"]["vocab_size"]);
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(0.001));
  const torch::Tensor numbers =
      torch::stack({split.inputs.at("n1"), split.inputs.at("n2"), split.inputs.at("n3"),
                    split.inputs.at("n4"), split.inputs.at("n5")},
                   1);
  const int64_t rows = split.num_rows;
  const auto start = Clock::now();
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    const torch::Tensor order = torch::randperm(rows, torch::kLong);
    for (int64_t begin = 0; begin < rows; begin += 128) {
      const torch::Tensor index = order.slice(0, begin, std::min(rows, begin + 128));
      std::vector<torch::Tensor> cats;
      for (const char* c : {"c1", "c2", "c3", "c4"})
        cats.push_back(split.inputs.at(c).index_select(0, index));
      auto [logit_b, logit_c] = model.forward(numbers.index_select(0, index), cats,
                                              split.inputs.at("text").index_select(0, index));
      torch::Tensor loss = torch::binary_cross_entropy_with_logits(
                               logit_b, split.targets.at("yb").index_select(0, index)) +
                           torch::nll_loss(torch::log_softmax(logit_c, -1),
                                           split.targets.at("yc").index_select(0, index));
      optimizer.zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(model.parameters(), 0.5);
      optimizer.step();
    }
  }
  return static_cast<double>(rows * epochs) / Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 100000;
  const int64_t epochs = argc > 2 ? std::atoll(argv[2]) : 2;
  std::cout << "machine: " << std::thread::hardware_concurrency() << " hardware threads, "
            << at::get_num_threads() << " intra-op thread(s)\n";
  tristage::SynthesizeOptions synth;
  synth.rows = rows;
  auto table = tristage::SynthesizeDataset(BenchConfig(epochs), synth);
  // The synthesizer's shape hints (vocab_size, max_len) are not config keys.
  json user = BenchConfig(epochs);
  for (const char* section : {"input_features", "output_features"}) {
    for (json& feature : user[section]) {
      feature.erase("vocab_size");
      feature.erase("max_len");
    }
  }
  auto config = tristage::config::ResolveConfig(user);
  if (!table.ok() || !config.ok()) {
    std::cerr << (table.ok() ? config.status() : table.status()) << "\n";
    return 1;
  }

  auto start = Clock::now();
  auto splits = tristage::preprocessing::SplitDataset(*config, *table, 42);
  auto data = tristage::preprocessing::BuildTrainingData(*config, *splits);
  if (!data.ok()) {
    std::cerr << data.status() << "\n";
    return 1;
  }
  const double preprocess_rate = static_cast<double>(rows) / Seconds(start);
  std::cout << absl::StrFormat("preprocessing: %.0f rows/s (%d rows)\n", preprocess_rate, rows);

  torch::manual_seed(42);
  auto model = tristage::model::BuildEcd(*config, data->metadata);
  if (!model.ok()) {
    std::cerr << model.status() << "\n";
    return 1;
  }
  // The training loop's own throughput (the trainer reports it per epoch, evaluation excluded).
  double engine_rate = 0;
  tristage::training::TrainerOptions options;
  options.on_progress = [&engine_rate](const tristage::training::ProgressEvent& event) {
    if (event.kind == tristage::training::ProgressEvent::Kind::kBatch) {
      engine_rate = event.rows_per_second;
    }
  };
  start = Clock::now();
  auto trained = tristage::training::Train(*model, *config, *data, options);
  if (!trained.ok()) {
    std::cerr << trained.status() << "\n";
    return 1;
  }
  const double total_rate = static_cast<double>(data->training.num_rows * epochs) / Seconds(start);
  std::cout << absl::StrFormat("engine training loop (TorchScript ECD): %.0f rows/s\n",
                               engine_rate);
  std::cout << absl::StrFormat("engine train() including per-epoch evaluation: %.0f rows/s\n",
                               total_rate);
  const double eager_rate = EagerRowsPerSecond(data->training, data->metadata, epochs);
  std::cout << absl::StrFormat(
      "bare libtorch eager loop, same architecture and tensors: %.0f rows/s\n", eager_rate);
  const double overhead = eager_rate / engine_rate - 1.0;
  std::cout << absl::StrFormat("engine overhead over bare libtorch: %.1f%%\n", 100 * overhead);
  std::cout << json{{"rows", rows},
                    {"epochs", epochs},
                    {"preprocessing_rows_per_second", preprocess_rate},
                    {"engine_training_rows_per_second", engine_rate},
                    {"eager_training_rows_per_second", eager_rate},
                    {"overhead", overhead}}
                   .dump()
            << "\n";
  return 0;
}
