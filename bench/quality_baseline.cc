#include "bench/quality_baseline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <numeric>

#include <torch/torch.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/status_macros.h"

namespace tristage::bench {
namespace {

using nlohmann::json;

// One input feature's slice of the design matrix, with what was fitted on the training rows.
struct Block {
  std::string name;
  std::string type;
  double mean = 0;
  double std = 1;
  std::map<std::string, int64_t> vocabulary;  // token -> column within the block
  std::vector<double> idf;                    // text only, per vocabulary column
  int64_t width = 0;
};

// Lowercased runs of letters and digits (bytes >= 0x80 count as letters, as in the engine's
// space_punct tokenizer); everything else separates tokens and is dropped.
std::vector<std::string> TextTokens(const std::string& text) {
  std::vector<std::string> tokens;
  std::string current;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80 || absl::ascii_isalnum(c)) {
      current.push_back(static_cast<char>(absl::ascii_tolower(c)));
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

std::vector<std::string> SetItems(const std::string& text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t\n\r\f\v"), absl::SkipEmpty());
}

// NaN for a missing or unparsable number, which the design matrix then sets to 0 (the mean).
double ParseNumber(const data::Column& column, size_t row) {
  if (column.null(row)) return std::nan("");
  const std::string& text = column.values[row];
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(value)) return std::nan("");
  return value;
}

// Tokens present in a row: text and set/bag cells are tokenized, a category cell is one token.
std::vector<std::string> RowTokens(const Block& block, const data::Column& column, size_t row) {
  if (column.null(row)) return {};
  if (block.type == "text") return TextTokens(column.values[row]);
  if (block.type == "set" || block.type == "bag") return SetItems(column.values[row]);
  return {column.values[row]};
}

void FitNumber(const data::Column& column, Block& block) {
  double sum = 0, sum_sq = 0;
  int64_t count = 0;
  for (size_t row = 0; row < column.size(); ++row) {
    const double x = ParseNumber(column, row);
    if (std::isnan(x)) continue;
    sum += x;
    sum_sq += x * x;
    ++count;
  }
  if (count > 0) {
    block.mean = sum / static_cast<double>(count);
    const double variance = sum_sq / static_cast<double>(count) - block.mean * block.mean;
    block.std = variance > 1e-24 ? std::sqrt(variance) : 1.0;
  }
  block.width = 1;
}

// Vocabulary of every token seen in training (sorted, so columns do not depend on row order),
// and for text the smooth idf of each.
void FitVocabulary(const data::Column& column, Block& block) {
  std::map<std::string, int64_t> document_frequency;
  for (size_t row = 0; row < column.size(); ++row) {
    std::vector<std::string> tokens = RowTokens(block, column, row);
    std::sort(tokens.begin(), tokens.end());
    tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
    for (const std::string& token : tokens) ++document_frequency[token];
  }
  const double n = static_cast<double>(column.size());
  for (const auto& [token, df] : document_frequency) {
    block.vocabulary.emplace(token, block.width++);
    if (block.type == "text") {
      block.idf.push_back(std::log((1.0 + n) / (1.0 + static_cast<double>(df))) + 1.0);
    }
  }
}

absl::StatusOr<std::vector<Block>> FitBlocks(const json& config, const data::Table& train) {
  std::vector<Block> blocks;
  for (const json& feature : config.at("input_features")) {
    Block block;
    block.name = feature.at("name").get<std::string>();
    block.type = feature.at("type").get<std::string>();
    TRISTAGE_ASSIGN_OR_RETURN(const data::Column* column, train.Get(block.name));
    if (block.type == "number") {
      FitNumber(*column, block);
    } else if (block.type == "binary") {
      block.width = 1;
    } else if (block.type == "category" || block.type == "set" || block.type == "bag" ||
               block.type == "text") {
      FitVocabulary(*column, block);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("baseline: input feature '", block.name,
                                                     "': type '", block.type,
                                                     "' is not supported"));
    }
    blocks.push_back(std::move(block));
  }
  return blocks;
}

// Writes one block's columns of one row into `out` (the row's slice starting at the block).
void FillRow(const Block& block, const data::Column& column, size_t row, double* out) {
  if (block.type == "number") {
    const double x = ParseNumber(column, row);
    out[0] = std::isnan(x) ? 0.0 : (x - block.mean) / block.std;
    return;
  }
  if (block.type == "binary") {
    out[0] = column.null(row) ? 0.0 : BinaryValue(column.values[row]);
    return;
  }
  double norm_sq = 0;
  for (const std::string& token : RowTokens(block, column, row)) {
    const auto it = block.vocabulary.find(token);
    if (it == block.vocabulary.end()) continue;  // unseen in training: no column
    if (block.type == "text") {
      out[it->second] += block.idf[static_cast<size_t>(it->second)];  // tf (a count) times idf
    } else if (block.type == "bag") {
      out[it->second] += 1.0;
    } else {
      out[it->second] = 1.0;
    }
  }
  if (block.type != "text") return;
  for (int64_t i = 0; i < block.width; ++i) norm_sq += out[i] * out[i];
  if (norm_sq == 0) return;
  const double inverse = 1.0 / std::sqrt(norm_sq);
  for (int64_t i = 0; i < block.width; ++i) out[i] *= inverse;
}

absl::StatusOr<torch::Tensor> DesignMatrix(const std::vector<Block>& blocks,
                                           const data::Table& table) {
  int64_t width = 0;
  for (const Block& block : blocks) width += block.width;
  const int64_t rows = table.num_rows();
  torch::Tensor x = torch::zeros({rows, width}, torch::kDouble);
  double* data = x.data_ptr<double>();
  int64_t offset = 0;
  for (const Block& block : blocks) {
    TRISTAGE_ASSIGN_OR_RETURN(const data::Column* column, table.Get(block.name));
    for (int64_t row = 0; row < rows; ++row) {
      FillRow(block, *column, static_cast<size_t>(row), data + row * width + offset);
    }
    offset += block.width;
  }
  return x;
}

// The target as class indices: binary 0/1; category indices into the training classes, -1 for a
// class never seen in training (always predicted wrong).
struct Target {
  std::string type;
  std::map<std::string, int64_t> classes;  // category only
  int64_t num_classes = 2;
};

absl::StatusOr<Target> FitTarget(const json& feature, const data::Table& train) {
  Target target;
  target.type = feature.at("type").get<std::string>();
  if (target.type == "binary") return target;
  if (target.type != "category") {
    return absl::InvalidArgumentError(absl::StrCat("baseline: output feature '",
                                                   feature.value("name", ""), "': type '",
                                                   target.type, "' is not supported"));
  }
  TRISTAGE_ASSIGN_OR_RETURN(const data::Column* column,
                            train.Get(feature.at("name").get<std::string>()));
  for (const std::string& value : column->values) target.classes.emplace(value, 0);
  int64_t index = 0;
  for (auto& entry : target.classes) entry.second = index++;
  target.num_classes = index;
  return target;
}

absl::StatusOr<std::vector<int64_t>> Labels(const Target& target, const std::string& name,
                                            const data::Table& table) {
  TRISTAGE_ASSIGN_OR_RETURN(const data::Column* column, table.Get(name));
  std::vector<int64_t> labels;
  for (size_t row = 0; row < column->size(); ++row) {
    if (target.type == "binary") {
      labels.push_back(BinaryValue(column->values[row]));
    } else {
      const auto it = target.classes.find(column->values[row]);
      labels.push_back(it == target.classes.end() ? -1 : it->second);
    }
  }
  return labels;
}

// A fitted linear model: logits = x w + b; one logit for a binary target, one per class else.
struct LinearModel {
  torch::Tensor weight;
  torch::Tensor bias;
  bool binary = true;
};

// Mean log loss of `logits` against `labels` (rows labelled -1 are left out).
torch::Tensor LogLoss(const LinearModel& model, const torch::Tensor& logits,
                      const torch::Tensor& labels) {
  const torch::Tensor known = labels.ge(0);
  if (model.binary) {
    return torch::binary_cross_entropy_with_logits(logits.squeeze(-1).index({known}),
                                                   labels.index({known}).to(torch::kDouble));
  }
  return torch::nll_loss(torch::log_softmax(logits.index({known}), -1), labels.index({known}));
}

torch::Tensor Logits(const LinearModel& model, const torch::Tensor& x) {
  return torch::addmm(model.bias, x, model.weight);
}

// Full-batch L-BFGS to convergence. The problem is strictly convex, so the start (zeros) does not
// change the optimum; a few restarts of the optimizer's inner loop cover the rare case where it
// stops on tolerance_change before the gradient is small.
LinearModel FitLinear(const torch::Tensor& x, const torch::Tensor& labels, int64_t num_classes,
                      double lambda, double* max_gradient) {
  LinearModel model;
  model.binary = num_classes == 2;
  const int64_t outputs = model.binary ? 1 : num_classes;
  model.weight = torch::zeros({x.size(1), outputs}, torch::kDouble).requires_grad_(true);
  model.bias = torch::zeros({outputs}, torch::kDouble).requires_grad_(true);
  torch::optim::LBFGS optimizer({model.weight, model.bias}, torch::optim::LBFGSOptions(1.0)
                                                                .max_iter(500)
                                                                .max_eval(1000)
                                                                .tolerance_grad(1e-9)
                                                                .tolerance_change(1e-14)
                                                                .history_size(20)
                                                                .line_search_fn("strong_wolfe"));
  auto closure = [&] {
    optimizer.zero_grad();
    torch::Tensor objective =
        LogLoss(model, Logits(model, x), labels) + 0.5 * lambda * model.weight.pow(2).sum();
    objective.backward();
    return objective;
  };
  double gradient = std::numeric_limits<double>::infinity();
  for (int round = 0; round < 5 && gradient > 1e-7; ++round) {
    optimizer.step(closure);
    closure();
    gradient = std::max(model.weight.grad().abs().max().item<double>(),
                        model.bias.grad().abs().max().item<double>());
  }
  *max_gradient = std::max(*max_gradient, gradient);
  model.weight = model.weight.detach();
  model.bias = model.bias.detach();
  return model;
}

std::vector<int64_t> Predict(const LinearModel& model, const torch::Tensor& logits) {
  const torch::Tensor predicted =
      model.binary ? logits.squeeze(-1).gt(0).to(torch::kLong) : logits.argmax(-1);
  return std::vector<int64_t>(predicted.data_ptr<int64_t>(),
                              predicted.data_ptr<int64_t>() + predicted.numel());
}

torch::Tensor LabelTensor(const std::vector<int64_t>& labels) {
  return torch::tensor(labels, torch::kLong);
}

Scores Score(const LinearModel& model, const torch::Tensor& x, const std::vector<int64_t>& labels) {
  Scores scores;
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = Logits(model, x);
  scores.accuracy = Accuracy(Predict(model, logits), labels);
  scores.roc_auc = std::nan("");
  if (model.binary) {
    const torch::Tensor z = logits.squeeze(-1).contiguous();
    scores.roc_auc = RocAuc(std::vector<double>(z.data_ptr<double>(), z.data_ptr<double>() + z.numel()),
                            labels);
  }
  return scores;
}

}  // namespace

const std::vector<double>& LambdaGrid() {
  // Decades. The synthetic outputs are nearly deterministic (noise 0.1), so the best fits are
  // weakly regularized: with 3,000 training rows 1e-7 is scikit-learn's C ~ 3,300 and 1 is
  // C ~ 0.0003; a grid starting at 1e-5 picked its edge on most datasets.
  static const auto* const kGrid =
      new std::vector<double>{1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};
  return *kGrid;
}

int BinaryValue(const std::string& cell) {
  const std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(cell));
  for (const char* t : {"true", "yes", "y", "t", "1", "1.0", "on"}) {
    if (lower == t) return 1;
  }
  return 0;
}

double Accuracy(const std::vector<int64_t>& predicted, const std::vector<int64_t>& target) {
  if (target.empty()) return std::nan("");
  int64_t right = 0;
  for (size_t i = 0; i < target.size(); ++i) right += predicted[i] == target[i] ? 1 : 0;
  return static_cast<double>(right) / static_cast<double>(target.size());
}

double RocAuc(const std::vector<double>& scores, const std::vector<int64_t>& labels) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&scores](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the positives' ranks, tied scores sharing their average rank.
  double positive_rank_sum = 0;
  int64_t positives = 0;
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin;
    while (end < order.size() && scores[order[end]] == scores[order[begin]]) ++end;
    const double average_rank = 0.5 * static_cast<double>(begin + 1 + end);
    for (size_t i = begin; i < end; ++i) {
      if (labels[order[i]] == 1) {
        positive_rank_sum += average_rank;
        ++positives;
      }
    }
    begin = end;
  }
  const double p = static_cast<double>(positives);
  const double n = static_cast<double>(scores.size()) - p;
  if (p == 0 || n == 0) return std::nan("");
  return (positive_rank_sum - p * (p + 1) / 2) / (p * n);
}

absl::StatusOr<BaselineResult> RunBaseline(const json& config, const data::Table& train,
                                           const data::Table& validation,
                                           const data::Table& test) {
  const auto start = std::chrono::steady_clock::now();
  const json& output = config.at("output_features").at(0);
  const std::string target_name = output.at("name").get<std::string>();
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<Block> blocks, FitBlocks(config, train));
  TRISTAGE_ASSIGN_OR_RETURN(Target target, FitTarget(output, train));
  TRISTAGE_ASSIGN_OR_RETURN(torch::Tensor x_train, DesignMatrix(blocks, train));
  TRISTAGE_ASSIGN_OR_RETURN(torch::Tensor x_validation, DesignMatrix(blocks, validation));
  TRISTAGE_ASSIGN_OR_RETURN(torch::Tensor x_test, DesignMatrix(blocks, test));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<int64_t> y_train, Labels(target, target_name, train));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<int64_t> y_validation,
                            Labels(target, target_name, validation));
  TRISTAGE_ASSIGN_OR_RETURN(std::vector<int64_t> y_test, Labels(target, target_name, test));
  if (target.num_classes < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("baseline: output '", target_name, "' has fewer than 2 training classes"));
  }

  BaselineResult result;
  result.num_features = x_train.size(1);
  const torch::Tensor train_labels = LabelTensor(y_train);
  const torch::Tensor validation_labels = LabelTensor(y_validation);
  double best_loss = std::numeric_limits<double>::infinity();
  LinearModel best;
  for (const double lambda : LambdaGrid()) {
    LinearModel model =
        FitLinear(x_train, train_labels, target.num_classes, lambda, &result.max_gradient);
    const Scores scores = Score(model, x_validation, y_validation);
    double loss = 0;
    {
      torch::NoGradGuard no_grad;
      loss = LogLoss(model, Logits(model, x_validation), validation_labels).item<double>();
    }
    // Validation accuracy moves in steps of 1/1000; the log loss breaks ties.
    const bool better = !best.weight.defined() || scores.accuracy > result.validation_accuracy ||
                        (scores.accuracy == result.validation_accuracy && loss < best_loss);
    if (!better) continue;
    best = model;
    best_loss = loss;
    result.lambda = lambda;
    result.validation_accuracy = scores.accuracy;
  }
  result.test = Score(best, x_test, y_test);
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace tristage::bench
