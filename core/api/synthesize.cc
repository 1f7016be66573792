#include "core/api/synthesize.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/util/status_macros.h"

namespace tristage {
namespace {

using nlohmann::json;

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Normal() {
    // Box-Muller: portable across standard libraries, unlike std::normal_distribution.
    const double u = std::max(Uniform(), 1e-300);
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * Uniform());
  }
  int64_t Below(int64_t n) { return static_cast<int64_t>(Uniform() * static_cast<double>(n)); }

 private:
  std::mt19937_64 engine_;
};

const char* const kWords[] = {
    "alpha",  "bravo",  "charlie", "delta", "echo",    "foxtrot",  "golf",    "hotel",
    "india",  "juliet", "kilo",    "lima",  "mike",    "november", "oscar",   "papa",
    "quebec", "romeo",  "sierra",  "tango", "uniform", "victor",   "whiskey", "xray",
    "yankee", "zulu",   "red",     "green", "blue",    "amber",    "violet",  "silver",
    "north",  "south",  "east",    "west",  "river",   "stone",    "cloud",   "field"};

std::string Token(const std::string& prefix, int64_t index) {
  const int64_t words = static_cast<int64_t>(std::size(kWords));
  if (index < words) return prefix + kWords[index];
  return absl::StrCat(prefix, kWords[index % words], index / words);
}

// One input's cell text and its contribution to the hidden score, with per-feature weights.
struct InputGenerator {
  std::string type;
  int64_t vocab = 8;
  int64_t max_len = 8;
  int64_t vector_size = 5;
  std::vector<double> weights;  // per vocabulary entry / vector element / 1 for scalars
  std::string prefix;

  double Generate(Rng& rng, std::string& cell) const {
    if (type == "number") {
      const double x = rng.Normal();
      cell = absl::StrFormat("%.4f", 10 + 3 * x);
      return weights[0] * x;
    }
    if (type == "binary") {
      const bool b = rng.Uniform() < 0.5;
      cell = b ? "true" : "false";
      return weights[0] * (b ? 1 : -1);
    }
    if (type == "category") {
      const int64_t i = rng.Below(vocab);
      cell = Token(prefix, i);
      return weights[static_cast<size_t>(i)];
    }
    if (type == "vector") {
      std::vector<std::string> parts;
      double score = 0;
      for (int64_t i = 0; i < vector_size; ++i) {
        const double x = rng.Normal();
        parts.push_back(absl::StrFormat("%.4f", x));
        score += weights[static_cast<size_t>(i)] * x;
      }
      cell = absl::StrJoin(parts, " ");
      return score / std::sqrt(static_cast<double>(vector_size));
    }
    if (type == "date") {
      const int64_t year = 2000 + rng.Below(25), month = 1 + rng.Below(12), day = 1 + rng.Below(28);
      cell = absl::StrFormat("%04d-%02d-%02d", year, month, day);
      return weights[static_cast<size_t>(month - 1)];
    }
    // set, bag, text, sequence: a few tokens; the score averages their weights.
    const bool sized = type == "set" || type == "bag";
    const int64_t count = 1 + rng.Below(sized ? std::min<int64_t>(4, vocab) : max_len);
    std::vector<std::string> tokens;
    double score = 0;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t t = rng.Below(vocab);
      if (type == "set" &&
          std::find(tokens.begin(), tokens.end(), Token(prefix, t)) != tokens.end()) {
        continue;
      }
      tokens.push_back(Token(prefix, t));
      score += weights[static_cast<size_t>(t)];
    }
    cell = absl::StrJoin(tokens, " ");
    return score / std::sqrt(static_cast<double>(tokens.size()));
  }
};

absl::StatusOr<InputGenerator> MakeInput(const json& feature, Rng& rng, size_t index) {
  InputGenerator g;
  g.type = feature.value("type", std::string());
  static const std::vector<std::string> kTypes = {"number", "binary", "category", "set",     "bag",
                                                  "vector", "date",   "text",     "sequence"};
  if (std::find(kTypes.begin(), kTypes.end(), g.type) == kTypes.end()) {
    return absl::InvalidArgumentError(absl::StrCat("feature '", feature.value("name", ""),
                                                   "': cannot synthesize type '", g.type, "'"));
  }
  const bool text_like = g.type == "text" || g.type == "sequence";
  g.vocab = feature.value("vocab_size", int64_t{text_like ? 40 : 8});
  g.max_len = feature.value("max_len", int64_t{12});
  g.vector_size = feature.value("vector_size", int64_t{5});
  g.prefix = std::string(1, static_cast<char>('a' + index % 26)) + "_";
  if (text_like) g.prefix.clear();
  size_t width = 1;
  if (g.type == "vector") width = static_cast<size_t>(g.vector_size);
  if (g.type == "date") width = 12;
  if (g.type == "category" || g.type == "set" || g.type == "bag" || text_like) {
    width = static_cast<size_t>(g.vocab);
  }
  for (size_t i = 0; i < width; ++i) g.weights.push_back(rng.Normal());
  return g;
}

// The output's cell from the standardized score z.
absl::StatusOr<std::string> MakeOutput(const json& feature, double z, Rng& rng) {
  const std::string type = feature.value("type", std::string());
  if (type == "binary") return std::string(z > 0 ? "true" : "false");
  if (type == "number") return absl::StrFormat("%.4f", 50 + 10 * z);
  if (type == "category") {
    const int64_t classes = feature.value("vocab_size", int64_t{4});
    // Equal-probability bins of a standard normal score.
    const double u = 0.5 * std::erfc(-z / std::sqrt(2.0));
    return Token(
        "class_",
        std::min<int64_t>(classes - 1, static_cast<int64_t>(u * static_cast<double>(classes))));
  }
  if (type == "set") {
    const int64_t items = feature.value("vocab_size", int64_t{5});
    std::vector<std::string> chosen;
    for (int64_t i = 0; i < items; ++i) {
      const double threshold = -1.0 + 2.0 * static_cast<double>(i) /
                                          static_cast<double>(std::max<int64_t>(1, items - 1));
      if ((i % 2 == 0 ? z : -z) > threshold - 0.5) chosen.push_back(Token("item_", i));
    }
    if (chosen.empty()) chosen.push_back(Token("item_", rng.Below(items)));
    return absl::StrJoin(chosen, " ");
  }
  if (type == "vector") {
    const int64_t size = feature.value("vector_size", int64_t{3});
    std::vector<std::string> parts;
    for (int64_t i = 0; i < size; ++i)
      parts.push_back(
          absl::StrFormat("%.4f", z * static_cast<double>(i + 1) / static_cast<double>(size)));
    return absl::StrJoin(parts, " ");
  }
  return absl::InvalidArgumentError(absl::StrCat("feature '", feature.value("name", ""),
                                                 "': cannot synthesize an output of type '", type,
                                                 "'"));
}

}  // namespace

absl::StatusOr<data::Table> SynthesizeDataset(const json& features,
                                              const SynthesizeOptions& options) {
  std::vector<json> inputs, outputs;
  if (features.is_object()) {
    for (const json& f : features.value("input_features", json::array())) inputs.push_back(f);
    for (const json& f : features.value("output_features", json::array())) outputs.push_back(f);
  } else if (features.is_array()) {
    for (const json& f : features) (f.value("output", false) ? outputs : inputs).push_back(f);
  } else {
    return absl::InvalidArgumentError("features: expected a config or a list of features");
  }
  if (inputs.empty()) return absl::InvalidArgumentError("features: no input features");
  Rng rng(options.seed);
  std::vector<InputGenerator> generators;
  for (size_t i = 0; i < inputs.size(); ++i) {
    TRISTAGE_ASSIGN_OR_RETURN(InputGenerator g, MakeInput(inputs[i], rng, i));
    generators.push_back(std::move(g));
  }
  std::vector<data::Column> columns(inputs.size() + outputs.size());
  std::vector<double> scores(static_cast<size_t>(options.rows), 0.0);
  for (int64_t row = 0; row < options.rows; ++row) {
    for (size_t i = 0; i < generators.size(); ++i) {
      std::string cell;
      scores[static_cast<size_t>(row)] += generators[i].Generate(rng, cell);
      const bool missing = options.missing_rate > 0 && rng.Uniform() < options.missing_rate;
      columns[i].Append(missing ? "" : cell, missing);
    }
  }
  // Standardize the score so output thresholds do not depend on the number of inputs.
  double mean = 0, var = 0;
  for (double s : scores) mean += s;
  mean /= std::max<double>(1, static_cast<double>(scores.size()));
  for (double s : scores) var += (s - mean) * (s - mean);
  const double sd =
      std::sqrt(var / std::max<double>(1, static_cast<double>(scores.size()))) + 1e-12;
  for (int64_t row = 0; row < options.rows; ++row) {
    const double z = (scores[static_cast<size_t>(row)] - mean) / sd;
    for (size_t o = 0; o < outputs.size(); ++o) {
      TRISTAGE_ASSIGN_OR_RETURN(std::string cell,
                                MakeOutput(outputs[o], z + options.noise * rng.Normal(), rng));
      columns[inputs.size() + o].Append(cell, false);
    }
  }
  data::Table table;
  for (size_t i = 0; i < columns.size(); ++i) {
    const json& feature = i < inputs.size() ? inputs[i] : outputs[i - inputs.size()];
    const std::string name = feature.value("column", feature.value("name", absl::StrCat("f", i)));
    TRISTAGE_RETURN_IF_ERROR(table.AddColumn(name, std::move(columns[i])));
  }
  return table;
}

}  // namespace tristage
