// The date feature: int64 [batch, 9] components: year, month, day, weekday (Monday 0), yearday
// (1-366), hour, minute, second, second_of_day. `datetime_format` uses strftime's %Y %y %m %d %H
// %M %S %b (month abbreviation) and %% with literal characters; when null, the format is detected
// on the training split from common ISO, US and European layouts and stored in the metadata, so
// evaluation and prediction parse exactly like training. An empty cell (a missing value filled
// with "") is all zeros.
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/features/common.h"
#include "core/features/stage_script.h"
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

  absl::StatusOr<StageScript> PreprocessScript(const json& feature, const json& metadata,
                                               const std::string& prefix) const override {
    StageScript script;
    // ParseDate, ReadInt, ReadMonthName and DaysFromCivil above, line for line.
    script.source = absl::StrReplaceAll(WithPrefix(R"py(
def $ppreprocess(self, column: Union[List[str], Tensor]) -> Tensor:
    cells = FILL
    flat: List[int] = []
    for cell in cells:
        text = cell.strip(self.whitespace)
        if len(text) == 0:
            flat.extend([0, 0, 0, 0, 0, 0, 0, 0, 0])
            continue
        parts = self.$pparse_date(text, self.$pformat)
        if len(parts) == 0:
            assert False, "feature '" + self.$pname + "': '" + text + "' does not match the date format '" + self.$pformat + "'"
        flat.extend(parts)
    return torch.tensor(flat, dtype=4).view([len(cells), 9])

def $pread_int(self, text: str, start: int, max_digits: int) -> Tuple[bool, int, int]:
    pos = start
    value = 0
    while pos < len(text) and pos - start < max_digits and self.is_digit_byte(ord(text[pos])):
        value = value * 10 + ord(text[pos]) - 48
        pos += 1
    return pos > start, pos, value

def $pread_month(self, text: str, start: int) -> Tuple[bool, int, int]:
    if start + 3 > len(text):
        return False, start, 0
    word = text[start:start + 3].lower()
    for i in range(12):
        if word == self.$pmonths[i]:
            pos = start + 3
            while pos < len(text) and self.$pis_alpha(ord(text[pos])):
                pos += 1
            return True, pos, i + 1
    return False, start, 0

def $pis_alpha(self, c: int) -> bool:
    return (c >= 65 and c <= 90) or (c >= 97 and c <= 122)

def $pdays_from_civil(self, year: int, m: int, d: int) -> int:
    y = year - 1 if m <= 2 else year
    era = y // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468

def $pparse_date(self, text: str, fmt: str) -> List[int]:
    failed: List[int] = []
    year = 1970
    month = 1
    day = 1
    hour = 0
    minute = 0
    second = 0
    pos = 0
    n = len(text)
    f = 0
    while f < len(fmt):
        if fmt[f] != "%" or f + 1 == len(fmt):
            if pos >= n or text[pos] != fmt[f]:
                return failed
            pos += 1
            f += 1
            continue
        spec = fmt[f + 1]
        f += 2
        ok = True
        if spec == "Y":
            ok, pos, year = self.$pread_int(text, pos, 4)
        elif spec == "y":
            ok, pos, year = self.$pread_int(text, pos, 2)
            year += 2000 if year < 69 else 1900
        elif spec == "m":
            ok, pos, month = self.$pread_int(text, pos, 2)
        elif spec == "d":
            ok, pos, day = self.$pread_int(text, pos, 2)
        elif spec == "H":
            ok, pos, hour = self.$pread_int(text, pos, 2)
        elif spec == "M":
            ok, pos, minute = self.$pread_int(text, pos, 2)
        elif spec == "S":
            ok, pos, second = self.$pread_int(text, pos, 2)
        elif spec == "b":
            ok, pos, month = self.$pread_month(text, pos)
        elif spec == "%":
            ok = pos < n and text[pos] == "%"
            pos += 1
        else:
            return failed
        if not ok:
            return failed
    if pos < n and not (text[pos] == "." or text[pos] == "Z" or text[pos] == "+" or text[pos] == " "):
        return failed
    if month < 1 or month > 12 or day < 1 or hour > 23 or minute > 59 or second > 60:
        return failed
    days = self.$pdays_from_civil(year, month, day)
    if month == 12:
        next_month = self.$pdays_from_civil(year + 1, 1, 1)
    else:
        next_month = self.$pdays_from_civil(year, month + 1, 1)
    if days >= next_month:
        return failed
    weekday = ((days % 7) + 7 + 3) % 7
    yearday = days - self.$pdays_from_civil(year, 1, 1) + 1
    return [year, month, day, weekday, yearday, hour, minute, second, hour * 3600 + minute * 60 + second]
)py",
                                                   prefix),
                                        {{"FILL", FillMissingCall(prefix)}});
    c10::List<std::string> months(
        {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"});
    script.attributes = {{prefix + "format", metadata.at("datetime_format").get<std::string>()},
                         {prefix + "months", months}};
    (void)feature;
    return script;
  }
};

const bool kRegistered = RegisterFeatureType("date", std::make_unique<DateType>());

// The exported preprocessor's tensor: int64 [rows, 9] (core/export/output_types.h).
TRISTAGE_EARLY_INIT const exporting::TypeRegistration kDateInput{
    exporting::InputType{"date", false, "int64", [](const json&) {
                           return std::vector<int64_t>{-1, 9};
                         }}};

}  // namespace
}  // namespace tristage::features
