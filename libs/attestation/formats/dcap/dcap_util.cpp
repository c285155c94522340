#include "formats/dcap/dcap_util.h"

#include <cstdio>
#include <optional>

namespace cloister::attestation::dcap::detail {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

std::optional<unsigned> digits(std::string_view text, std::size_t offset, std::size_t count) {
  unsigned value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[offset + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Minimal scanner over JSON text already known to parse.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}
  std::size_t position() const { return position_; }
  void skip_space() {
    while (position_ < text_.size() && is_space(text_[position_])) ++position_;
  }
  bool consume(char c) {
    skip_space();
    if (position_ < text_.size() && text_[position_] == c) {
      ++position_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skip_space();
    return position_ < text_.size() && text_[position_] == c;
  }
  // A string starting at the current position; returns its raw content (escapes kept).
  std::optional<std::string_view> string() {
    skip_space();
    if (position_ >= text_.size() || text_[position_] != '"') return std::nullopt;
    const std::size_t start = ++position_;
    while (position_ < text_.size()) {
      const char c = text_[position_];
      if (c == '\\') {
        position_ += 2;
        continue;
      }
      if (c == '"') return text_.substr(start, position_++ - start);
      ++position_;
    }
    return std::nullopt;
  }
  // Skips one value; false on malformed text.
  bool value() {
    skip_space();
    if (position_ >= text_.size()) return false;
    const char c = text_[position_];
    if (c == '"') return string().has_value();
    if (c == '{' || c == '[') {
      int depth = 0;
      while (position_ < text_.size()) {
        const char d = text_[position_];
        if (d == '"') {
          if (!string()) return false;
          continue;
        }
        if (d == '{' || d == '[') ++depth;
        if (d == '}' || d == ']') {
          --depth;
          if (depth == 0) {
            ++position_;
            return true;
          }
        }
        ++position_;
      }
      return false;
    }
    const std::size_t start = position_;
    while (position_ < text_.size() && !is_space(text_[position_]) && text_[position_] != ',' &&
           text_[position_] != '}' && text_[position_] != ']') {
      ++position_;
    }
    return position_ > start;
  }

 private:
  std::string_view text_;
  std::size_t position_ = 0;
};

}  // namespace

Result<std::int64_t> parse_pcs_time(std::string_view text) {
  auto bad = [&] { return fail(ErrorCode::bad_encoding, "timestamp is not YYYY-MM-DDTHH:MM:SSZ"); };
  if (text.size() < 20 || text.size() > 40 || text.back() != 'Z') return bad();
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') return bad();
  const auto year = digits(text, 0, 4);
  const auto month = digits(text, 5, 2);
  const auto day = digits(text, 8, 2);
  const auto hour = digits(text, 11, 2);
  const auto minute = digits(text, 14, 2);
  const auto second = digits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return bad();
  if (text.size() > 20) {  // ".fraction" before the Z
    if (text[19] != '.' || text.size() < 22 || !digits(text, 20, text.size() - 21)) return bad();
  }
  static constexpr unsigned kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (*month < 1 || *month > 12 || *day < 1 || *day > kDaysInMonth[*month - 1] || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return bad();
  }
  return days_from_civil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 + *second;
}

std::string format_pcs_time(std::int64_t unix_seconds) {
  // civil_from_days (H. Hinnant).
  std::int64_t days = unix_seconds / 86400;
  std::int64_t seconds = unix_seconds % 86400;
  if (seconds < 0) {
    seconds += 86400;
    --days;
  }
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(year), month,
                day, static_cast<long long>(seconds / 3600), static_cast<long long>((seconds / 60) % 60),
                static_cast<long long>(seconds % 60));
  return buffer;
}

Result<std::string_view> raw_member_text(std::string_view json, std::string_view name) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::bad_encoding, "member \"" + std::string(name) + "\": " + std::string(why));
  };
  Scanner scanner(json);
  if (!scanner.consume('{')) return bad("the document is not a JSON object");
  std::optional<std::string_view> found;
  if (!scanner.consume('}')) {
    while (true) {
      auto key = scanner.string();
      if (!key || !scanner.consume(':')) return bad("malformed JSON");
      scanner.skip_space();
      const std::size_t start = scanner.position();
      if (!scanner.value()) return bad("malformed JSON");
      if (*key == name) {
        if (found) return bad("appears twice");
        found = json.substr(start, scanner.position() - start);
      }
      if (scanner.consume(',')) continue;
      if (scanner.consume('}')) break;
      return bad("malformed JSON");
    }
  }
  if (!found) return bad("absent");
  if (found->empty() || found->front() != '{') return bad("not an object");
  return *found;
}

}  // namespace cloister::attestation::dcap::detail
