// The date feature: int64 [batch, 9] components: year, month, day, weekday (Monday 0), yearday
// (1-366), hour, minute, second, second_of_day. `datetime_format` uses strftime's %Y %y %m %d %H
// %M %S %b (month abbreviation) and %% with literal characters; when null, the format is detected
// on the training split from common ISO, US and European layouts and stored in the metadata, so
// evaluation and prediction parse exactly like training. An empty cell (a missing value filled
// with "") is all zeros.
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/features/common.h"
#include "core/util/status_macros.h"

namespace tristage::features {
namespace {

using Components = std::array<int64_t, 9>;

constexpr const char* kCandidateFormats[] = {"%Y-%m-%d %H:%M:%S",
                                             "%Y-%m-%dT%H:%M:%S",
                                             "%Y-%m-%d %H:%M",
                                             "%Y-%m-%d",
                                             "%Y/%m/%d %H:%M:%S",
                                             "%Y/%m/%d",
                                             "%m/%d/%Y %H:%M:%S",
                                             "%m/%d/%Y",
                                             "%d.%m.%Y",
                                             "%d %b %Y",
                                             "%Y%m%d"};

bool ReadInt(absl::string_view text, size_t& pos, int max_digits, int64_t& out) {
  size_t start = pos;
  out = 0;
  while (pos < text.size() && pos - start < static_cast<size_t>(max_digits) &&
         absl::ascii_isdigit(static_cast<unsigned char>(text[pos]))) {
    out = out * 10 + (text[pos++] - '0');
  }
  return pos > start;
}

bool ReadMonthName(absl::string_view text, size_t& pos, int64_t& month) {
  static constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
  if (pos + 3 > text.size()) return false;
  const std::string word = absl::AsciiStrToLower(text.substr(pos, 3));
  for (int i = 0; i < 12; ++i) {
    if (word == kMonths[i]) {
      month = i + 1;
      pos += 3;
      while (pos < text.size() && absl::ascii_isalpha(static_cast<unsigned char>(text[pos]))) ++pos;
      return true;
    }
  }
  return false;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Parses `text` with `format`; trailing fractional seconds and a timezone suffix are ignored.
bool ParseDate(absl::string_view text, absl::string_view format, Components& out) {
  int64_t year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  size_t pos = 0;
  for (size_t f = 0; f < format.size(); ++f) {
    if (format[f] != '%' || f + 1 == format.size()) {
      if (pos >= text.size() || text[pos] != format[f]) return false;
      ++pos;
      continue;
    }
    bool ok = true;
    switch (format[++f]) {
      case 'Y': ok = ReadInt(text, pos, 4, year); break;
      case 'y':
        ok = ReadInt(text, pos, 2, year);
        year += year < 69 ? 2000 : 1900;
        break;
      case 'm': ok = ReadInt(text, pos, 2, month); break;
      case 'd': ok = ReadInt(text, pos, 2, day); break;
      case 'H': ok = ReadInt(text, pos, 2, hour); break;
      case 'M': ok = ReadInt(text, pos, 2, minute); break;
      case 'S': ok = ReadInt(text, pos, 2, second); break;
      case 'b': ok = ReadMonthName(text, pos, month); break;
      case '%': ok = pos < text.size() && text[pos++] == '%'; break;
      default: return false;
    }
    if (!ok) return false;
  }
  const absl::string_view rest = text.substr(pos);
  if (!rest.empty() && rest[0] != '.' && rest[0] != 'Z' && rest[0] != '+' && rest[0] != ' ') {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return false;
  // The month's last day, from the first of the next month; rejects e.g. 2023-02-29, 2024-04-31.
  if (DaysFromCivil(year, month, day) >=
      (month == 12 ? DaysFromCivil(year + 1, 1, 1) : DaysFromCivil(year, month + 1, 1))) {
    return false;
  }
  const int64_t days = DaysFromCivil(year, month, day);
  const int64_t weekday = ((days % 7) + 7 + 3) % 7;  // 1970-01-01 was a Thursday (3).
  const int64_t yearday = days - DaysFromCivil(year, 1, 1) + 1;
  out = {
      year, month, day, weekday, yearday, hour, minute, second, hour * 3600 + minute * 60 + second};
  return true;
}

class DateType : public FeatureType {
 public:
  absl::StatusOr<json> Fit(const json& feature, const data::Column& column) const override {
    const json& configured = PreprocessingOf(feature).value("datetime_format", json());
    if (configured.is_string()) return json{{"datetime_format", configured}};
    for (size_t row = 0; row < column.size(); ++row) {
      const std::string text(absl::StripAsciiWhitespace(column.values[row]));
      if (column.null(row) || text.empty()) continue;
      Components ignored;
      for (const char* format : kCandidateFormats) {
        if (ParseDate(text, format, ignored)) return json{{"datetime_format", format}};
      }
      return CellError(feature, row,
                       absl::StrCat("cannot tell the date format of '", text,
                                    "'; set preprocessing.datetime_format"));
    }
    return json{{"datetime_format", kCandidateFormats[0]}};
  }

  absl::StatusOr<torch::Tensor> Transform(const json& feature, const json& metadata,
                                          const data::Column& column) const override {
    const std::string format = metadata.at("datetime_format");
    torch::Tensor out = torch::zeros({static_cast<int64_t>(column.size()), 9}, torch::kLong);
    int64_t* data = out.data_ptr<int64_t>();
    for (size_t row = 0; row < column.size(); ++row) {
      const std::string text(absl::StripAsciiWhitespace(column.values[row]));
      if (text.empty()) continue;
      Components parts;
      if (!ParseDate(text, format, parts)) {
        return CellError(
            feature, row,
            absl::StrCat("'", text, "' does not match the date format '", format, "'"));
      }
      std::copy(parts.begin(), parts.end(), data + static_cast<int64_t>(row) * 9);
    }
    return out;
  }
};

const bool kRegistered = RegisterFeatureType("date", std::make_unique<DateType>());

}  // namespace
}  // namespace tristage::features
