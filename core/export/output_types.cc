#include "core/export/output_types.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/strings/str_join.h"
#include "core/util/strings.h"

namespace tristage::exporting {
namespace {

// Function-local, so registrations from any file's static initialisers find them constructed;
// never destroyed, so nothing depends on exit order.
std::map<std::string, OutputType, std::less<>>& OutputTypes() {
  static auto* types = new std::map<std::string, OutputType, std::less<>>();
  return *types;
}

std::map<std::string, InputType, std::less<>>& InputTypes() {
  static auto* types = new std::map<std::string, InputType, std::less<>>();
  return *types;
}

[[noreturn]] void RegistrationFailure(const char* kind, const std::string& name, const char* why) {
  std::fprintf(stderr, "tristage: cannot register %s type '%s': %s\n", kind, name.c_str(), why);
  std::abort();
}

template <typename Map>
std::vector<std::string> Names(const Map& types) {
  std::vector<std::string> names;
  for (const auto& [name, type] : types) names.push_back(name);
  return names;
}

}  // namespace

bool RegisterOutputType(OutputType type) {
  if (type.name.empty()) RegistrationFailure("output", type.name, "empty name");
  if (!type.decode || !type.columns || !type.tensors) {
    RegistrationFailure("output", type.name, "decode, columns and tensors are required");
  }
  if (OutputTypes().count(type.name) != 0) {
    RegistrationFailure("output", type.name, "registered twice");
  }
  const std::string name = type.name;
  OutputTypes().emplace(name, std::move(type));
  return true;
}

bool RegisterInputType(InputType type) {
  if (type.name.empty()) RegistrationFailure("input", type.name, "empty name");
  if (!type.shape) RegistrationFailure("input", type.name, "shape is required");
  const std::string name = type.name;
  if (!InputTypes().emplace(name, std::move(type)).second) {
    RegistrationFailure("input", name, "registered twice");
  }
  return true;
}

const OutputType* FindOutputType(absl::string_view name) {
  auto it = OutputTypes().find(name);
  return it == OutputTypes().end() ? nullptr : &it->second;
}

const InputType* FindInputType(absl::string_view name) {
  auto it = InputTypes().find(name);
  return it == InputTypes().end() ? nullptr : &it->second;
}

std::vector<std::string> RegisteredOutputTypes() {
  return Names(OutputTypes());
}
std::vector<std::string> RegisteredInputTypes() {
  return Names(InputTypes());
}

void AppendRawBytes(const std::string& value, std::string& raw) {
  const uint32_t length = static_cast<uint32_t>(value.size());
  raw.append(reinterpret_cast<const char*>(&length), sizeof(length));
  raw.append(value);
}

std::string RawFloats(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

data::Column NumberColumn(const std::vector<float>& values) {
  data::Column column;
  for (float v : values) column.Append(FormatNumber(v), false);
  return column;
}

std::string JoinNumbers(const std::vector<float>& values) {
  return absl::StrJoin(values, " ",
                       [](std::string* out, float v) { out->append(FormatNumber(v)); });
}

}  // namespace tristage::exporting
