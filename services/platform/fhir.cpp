#include "fhir.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <span>

namespace cloister::platform::fhir {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Primitive checks

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_digit); }

int to_int(std::string_view s) {
  int value = 0;
  for (char c : s) value = value * 10 + (c - '0');
  return value;
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

// FHIR date (YYYY, YYYY-MM, YYYY-MM-DD) or, with allow_time, dateTime (a full date followed by
// Thh:mm:ss[.fff] and a zone). Beyond the R4 regexes, the day must exist in its month.
bool is_date(std::string_view s, bool allow_time) {
  if (s.size() < 4 || !all_digits(s.substr(0, 4)) || to_int(s.substr(0, 4)) == 0) return false;
  const int year = to_int(s.substr(0, 4));
  if (s.size() == 4) return true;
  if (s.size() < 7 || s[4] != '-' || !all_digits(s.substr(5, 2))) return false;
  const int month = to_int(s.substr(5, 2));
  if (month < 1 || month > 12) return false;
  if (s.size() == 7) return true;
  if (s.size() < 10 || s[7] != '-' || !all_digits(s.substr(8, 2))) return false;
  const int day = to_int(s.substr(8, 2));
  if (day < 1 || day > days_in_month(year, month)) return false;
  if (s.size() == 10) return true;
  if (!allow_time || s[10] != 'T') return false;
  auto t = s.substr(11);
  if (t.size() < 8 || !all_digits(t.substr(0, 2)) || t[2] != ':' || !all_digits(t.substr(3, 2)) || t[5] != ':' ||
      !all_digits(t.substr(6, 2))) {
    return false;
  }
  if (to_int(t.substr(0, 2)) > 23 || to_int(t.substr(3, 2)) > 59 || to_int(t.substr(6, 2)) > 60) return false;
  t = t.substr(8);
  if (!t.empty() && t[0] == '.') {
    std::size_t n = 1;
    while (n < t.size() && is_digit(t[n])) ++n;
    if (n == 1) return false;
    t = t.substr(n);
  }
  if (t == "Z") return true;
  if (t.size() != 6 || (t[0] != '+' && t[0] != '-') || !all_digits(t.substr(1, 2)) || t[3] != ':' ||
      !all_digits(t.substr(4, 2))) {
    return false;
  }
  const int zone_hours = to_int(t.substr(1, 2));
  const int zone_minutes = to_int(t.substr(4, 2));
  return (zone_hours <= 13 && zone_minutes <= 59) || (zone_hours == 14 && zone_minutes == 0);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

// FHIR code: no leading or trailing whitespace, only single spaces inside.
bool is_code(std::string_view s) {
  if (s.empty() || is_space(s.front()) || is_space(s.back())) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (is_space(s[i]) && (s[i] != ' ' || is_space(s[i + 1]))) return false;
  }
  return true;
}

bool is_uri(std::string_view s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](char c) {
    return is_space(c) || static_cast<unsigned char>(c) < 0x20;
  });
}

// An absolute URI: a scheme ([A-Za-z][A-Za-z0-9+.-]*) then ":".
bool is_absolute_uri(std::string_view s) {
  if (!is_uri(s)) return false;
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '.' || c == '-';
  });
}

bool is_fhir_id(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr std::array<std::uint32_t, 4> kMinimum = {0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// Strings other than narratives: no control characters besides tab, CR and LF (FHIR's string regex).
bool has_forbidden_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t' && c != '\r' && c != '\n') || u == 0x7F;
  });
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// An element name we may echo in a detail: it is the caller's key, so only when it looks like one.
std::string display_key(std::string_view key) {
  const auto body = !key.empty() && key[0] == '_' ? key.substr(1) : key;
  const bool plausible = !body.empty() && key.size() <= 64 && std::isalpha(static_cast<unsigned char>(body[0])) &&
                         std::all_of(body.begin(), body.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
  return plausible ? std::string(key) : std::string();
}

// ---------------------------------------------------------------------------------------------
// The Patient subset, as a table of types and elements

constexpr std::size_t kMaxString = 64 * 1024;
constexpr std::size_t kMaxNarrative = 1024 * 1024;
constexpr std::size_t kMaxArray = 1000;

enum class Kind { string, code, uri, boolean, positive_int, integer, decimal, date, date_time, xhtml, complex };

struct TypeDef;
using Invariant = Status (*)(const json& object, const std::string& path);

struct Element {
  std::string_view name;
  Kind kind;
  bool array = false;
  bool required = false;
  std::span<const std::string_view> codes = {};
  const TypeDef* type = nullptr;
};

struct TypeDef {
  std::span<const Element> elements;
  Invariant invariant = nullptr;
};

std::unexpected<Error> invalid(const std::string& path, std::string_view what) {
  return fail(ErrorCode::fhir_invalid, path + ": " + std::string(what));
}

constexpr std::array<std::string_view, 5> kIdentifierUse = {"usual", "official", "temp", "secondary", "old"};
constexpr std::array<std::string_view, 7> kNameUse = {"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"};
constexpr std::array<std::string_view, 7> kContactPointSystem = {"phone", "fax", "email", "pager", "url", "sms", "other"};
constexpr std::array<std::string_view, 5> kContactPointUse = {"home", "work", "temp", "old", "mobile"};
constexpr std::array<std::string_view, 4> kGender = {"male", "female", "other", "unknown"};
constexpr std::array<std::string_view, 5> kAddressUse = {"home", "work", "temp", "old", "billing"};
constexpr std::array<std::string_view, 3> kAddressType = {"postal", "physical", "both"};
constexpr std::array<std::string_view, 4> kNarrativeStatus = {"generated", "extensions", "additional", "empty"};

constexpr std::array kCodingElements = {
    Element{.name = "system", .kind = Kind::uri},
    Element{.name = "version", .kind = Kind::string},
    Element{.name = "code", .kind = Kind::code},
    Element{.name = "display", .kind = Kind::string},
    Element{.name = "userSelected", .kind = Kind::boolean},
};
constexpr TypeDef kCoding{kCodingElements};

constexpr std::array kCodeableConceptElements = {
    Element{.name = "coding", .kind = Kind::complex, .array = true, .type = &kCoding},
    Element{.name = "text", .kind = Kind::string},
};
constexpr TypeDef kCodeableConcept{kCodeableConceptElements};

constexpr std::array kPeriodElements = {
    Element{.name = "start", .kind = Kind::date_time},
    Element{.name = "end", .kind = Kind::date_time},
};
constexpr TypeDef kPeriod{kPeriodElements};

constexpr std::array kReferenceElements = {
    Element{.name = "reference", .kind = Kind::string},
    Element{.name = "display", .kind = Kind::string},
};
constexpr TypeDef kReference{kReferenceElements};

constexpr std::array kIdentifierElements = {
    Element{.name = "use", .kind = Kind::code, .codes = kIdentifierUse},
    Element{.name = "type", .kind = Kind::complex, .type = &kCodeableConcept},
    Element{.name = "system", .kind = Kind::uri},
    Element{.name = "value", .kind = Kind::string},
    Element{.name = "period", .kind = Kind::complex, .type = &kPeriod},
    Element{.name = "assigner", .kind = Kind::complex, .type = &kReference},
};
constexpr TypeDef kIdentifier{kIdentifierElements};

constexpr std::array kHumanNameElements = {
    Element{.name = "use", .kind = Kind::code, .codes = kNameUse},
    Element{.name = "text", .kind = Kind::string},
    Element{.name = "family", .kind = Kind::string},
    Element{.name = "given", .kind = Kind::string, .array = true},
    Element{.name = "prefix", .kind = Kind::string, .array = true},
    Element{.name = "suffix", .kind = Kind::string, .array = true},
    Element{.name = "period", .kind = Kind::complex, .type = &kPeriod},
};
constexpr TypeDef kHumanName{kHumanNameElements};

// cpt-2: a system is required if a value is provided.
Status contact_point_invariant(const json& object, const std::string& path) {
  if (object.contains("value") && !object.contains("system")) return invalid(path, "a value needs a system (cpt-2)");
  return {};
}

constexpr std::array kContactPointElements = {
    Element{.name = "system", .kind = Kind::code, .codes = kContactPointSystem},
    Element{.name = "value", .kind = Kind::string},
    Element{.name = "use", .kind = Kind::code, .codes = kContactPointUse},
    Element{.name = "rank", .kind = Kind::positive_int},
    Element{.name = "period", .kind = Kind::complex, .type = &kPeriod},
};
constexpr TypeDef kContactPoint{kContactPointElements, contact_point_invariant};

constexpr std::array kAddressElements = {
    Element{.name = "use", .kind = Kind::code, .codes = kAddressUse},
    Element{.name = "type", .kind = Kind::code, .codes = kAddressType},
    Element{.name = "text", .kind = Kind::string},
    Element{.name = "line", .kind = Kind::string, .array = true},
    Element{.name = "city", .kind = Kind::string},
    Element{.name = "district", .kind = Kind::string},
    Element{.name = "state", .kind = Kind::string},
    Element{.name = "postalCode", .kind = Kind::string},
    Element{.name = "country", .kind = Kind::string},
    Element{.name = "period", .kind = Kind::complex, .type = &kPeriod},
};
constexpr TypeDef kAddress{kAddressElements};

constexpr std::array kNarrativeElements = {
    Element{.name = "status", .kind = Kind::code, .required = true, .codes = kNarrativeStatus},
    Element{.name = "div", .kind = Kind::xhtml, .required = true},
};
constexpr TypeDef kNarrative{kNarrativeElements};

constexpr std::array<std::string_view, 9> kExtensionValues = {
    "valueBoolean", "valueInteger", "valueDecimal", "valueString", "valueUri",
    "valueUrl",     "valueCode",    "valueDate",    "valueDateTime"};

// Exactly one value[x], and an absolute url (an extension is identified by it).
Status extension_invariant(const json& object, const std::string& path) {
  const auto values = std::count_if(kExtensionValues.begin(), kExtensionValues.end(),
                                    [&object](std::string_view name) { return object.contains(name); });
  if (values != 1) return invalid(path, "an extension needs exactly one primitive value[x]");
  if (!is_absolute_uri(object.at("url").get_ref<const std::string&>())) {
    return invalid(path + ".url", "expected an absolute URI");
  }
  return {};
}

constexpr std::array kExtensionElements = {
    Element{.name = "url", .kind = Kind::uri, .required = true},
    Element{.name = "valueBoolean", .kind = Kind::boolean},
    Element{.name = "valueInteger", .kind = Kind::integer},
    Element{.name = "valueDecimal", .kind = Kind::decimal},
    Element{.name = "valueString", .kind = Kind::string},
    Element{.name = "valueUri", .kind = Kind::uri},
    Element{.name = "valueUrl", .kind = Kind::uri},
    Element{.name = "valueCode", .kind = Kind::code},
    Element{.name = "valueDate", .kind = Kind::date},
    Element{.name = "valueDateTime", .kind = Kind::date_time},
};
constexpr TypeDef kExtension{kExtensionElements, extension_invariant};

constexpr std::array kCommunicationElements = {
    Element{.name = "language", .kind = Kind::complex, .required = true, .type = &kCodeableConcept},
    Element{.name = "preferred", .kind = Kind::boolean},
};
constexpr TypeDef kCommunication{kCommunicationElements};

// pat-1: a contact has contact details or a reference to an organization.
Status contact_invariant(const json& object, const std::string& path) {
  for (const char* name : {"name", "telecom", "address", "organization"}) {
    if (object.contains(name)) return {};
  }
  return invalid(path, "a contact needs a name, telecom, address or organization (pat-1)");
}

constexpr std::array kContactElements = {
    Element{.name = "relationship", .kind = Kind::complex, .array = true, .type = &kCodeableConcept},
    Element{.name = "name", .kind = Kind::complex, .type = &kHumanName},
    Element{.name = "telecom", .kind = Kind::complex, .array = true, .type = &kContactPoint},
    Element{.name = "address", .kind = Kind::complex, .type = &kAddress},
    Element{.name = "gender", .kind = Kind::code, .codes = kGender},
    Element{.name = "organization", .kind = Kind::complex, .type = &kReference},
    Element{.name = "period", .kind = Kind::complex, .type = &kPeriod},
};
constexpr TypeDef kContact{kContactElements, contact_invariant};

Status patient_invariant(const json& object, const std::string& path) {
  if (object.contains("deceasedBoolean") && object.contains("deceasedDateTime")) {
    return invalid(path, "deceasedBoolean and deceasedDateTime are exclusive (one deceased[x])");
  }
  if (object.contains("multipleBirthBoolean") && object.contains("multipleBirthInteger")) {
    return invalid(path, "multipleBirthBoolean and multipleBirthInteger are exclusive (one multipleBirth[x])");
  }
  const bool has_identifier_value =
      object.contains("identifier") && std::any_of(object["identifier"].begin(), object["identifier"].end(),
                                                   [](const json& identifier) { return identifier.contains("value"); });
  if (!has_identifier_value) {
    return invalid(path + ".identifier", "Cloister needs at least one identifier with a value (the hospital's record number)");
  }
  return {};
}

constexpr std::array kPatientElements = {
    Element{.name = "resourceType", .kind = Kind::string, .required = true},  // checked before
    Element{.name = "text", .kind = Kind::complex, .type = &kNarrative},
    Element{.name = "extension", .kind = Kind::complex, .array = true, .type = &kExtension},
    Element{.name = "identifier", .kind = Kind::complex, .array = true, .type = &kIdentifier},
    Element{.name = "active", .kind = Kind::boolean},
    Element{.name = "name", .kind = Kind::complex, .array = true, .type = &kHumanName},
    Element{.name = "telecom", .kind = Kind::complex, .array = true, .type = &kContactPoint},
    Element{.name = "gender", .kind = Kind::code, .codes = kGender},
    Element{.name = "birthDate", .kind = Kind::date},
    Element{.name = "deceasedBoolean", .kind = Kind::boolean},
    Element{.name = "deceasedDateTime", .kind = Kind::date_time},
    Element{.name = "address", .kind = Kind::complex, .array = true, .type = &kAddress},
    Element{.name = "maritalStatus", .kind = Kind::complex, .type = &kCodeableConcept},
    Element{.name = "multipleBirthBoolean", .kind = Kind::boolean},
    Element{.name = "multipleBirthInteger", .kind = Kind::integer},
    Element{.name = "communication", .kind = Kind::complex, .array = true, .type = &kCommunication},
    Element{.name = "generalPractitioner", .kind = Kind::complex, .array = true, .type = &kReference},
    Element{.name = "managingOrganization", .kind = Kind::complex, .type = &kReference},
    Element{.name = "contact", .kind = Kind::complex, .array = true, .type = &kContact},
};
constexpr TypeDef kPatient{kPatientElements, patient_invariant};

std::string joined(std::span<const std::string_view> codes) {
  std::string out;
  for (auto code : codes) {
    if (!out.empty()) out += '|';
    out += code;
  }
  return out;
}

Status check_narrative_div(const std::string& div, const std::string& path) {
  if (div.size() > kMaxNarrative) return invalid(path, "the narrative is too long");
  std::string_view trimmed = div;
  while (!trimmed.empty() && is_space(trimmed.front())) trimmed.remove_prefix(1);
  while (!trimmed.empty() && is_space(trimmed.back())) trimmed.remove_suffix(1);
  const auto lowered = lower_ascii(trimmed);
  if (!lowered.starts_with("<div") || (lowered.size() > 4 && lowered[4] != '>' && !is_space(lowered[4])) ||
      !lowered.ends_with("</div>")) {
    return invalid(path, "expected an XHTML <div> element");
  }
  for (const char* forbidden : {"<script", "<style", "<iframe", "<object", "<embed", "<form", "javascript:"}) {
    if (lowered.find(forbidden) != std::string::npos) {
      return invalid(path, "the narrative holds active content (scripts, styles, frames, objects, forms)");
    }
  }
  return {};
}

Status check_type(const json& value, const TypeDef& type, const std::string& path);

Status check_primitive(const json& value, const Element& element, const std::string& path) {
  if (value.is_null()) return invalid(path, "null is not allowed");
  switch (element.kind) {
    case Kind::boolean:
      if (!value.is_boolean()) return invalid(path, "expected true or false");
      return {};
    case Kind::positive_int:
      if (!value.is_number_integer()) return invalid(path, "expected a positive integer");
      if (value.is_number_unsigned() ? value.get<std::uint64_t>() > 2147483647u || value.get<std::uint64_t>() == 0
                                     : value.get<std::int64_t>() < 1 || value.get<std::int64_t>() > 2147483647) {
        return invalid(path, "expected a positive integer");
      }
      return {};
    case Kind::integer:
      if (!value.is_number_integer()) return invalid(path, "expected an integer");
      if (value.is_number_unsigned() ? value.get<std::uint64_t>() > 2147483647u
                                     : value.get<std::int64_t>() < -2147483648LL || value.get<std::int64_t>() > 2147483647) {
        return invalid(path, "expected a 32-bit integer");
      }
      return {};
    case Kind::decimal:
      if (!value.is_number() || !std::isfinite(value.get<double>())) return invalid(path, "expected a decimal number");
      return {};
    case Kind::complex:
      return check_type(value, *element.type, path);
    default:
      break;
  }
  // The string kinds.
  if (!value.is_string()) {
    switch (element.kind) {
      case Kind::code: return invalid(path, "expected a code (a string)");
      case Kind::uri: return invalid(path, "expected a URI (a string)");
      case Kind::date: return invalid(path, "expected a date (a string)");
      case Kind::date_time: return invalid(path, "expected a dateTime (a string)");
      case Kind::xhtml: return invalid(path, "expected an XHTML div (a string)");
      default: return invalid(path, "expected a string");
    }
  }
  const auto& text = value.get_ref<const std::string&>();
  if (text.empty()) return invalid(path, "must not be empty");
  if (!is_valid_utf8(text)) return invalid(path, "expected valid UTF-8");
  if (element.kind == Kind::xhtml) return check_narrative_div(text, path);
  if (text.size() > kMaxString) return invalid(path, "too long (at most 65536 bytes)");
  if (has_forbidden_control(text)) return invalid(path, "holds control characters");
  switch (element.kind) {
    case Kind::code:
      if (!element.codes.empty()) {
        if (std::find(element.codes.begin(), element.codes.end(), text) == element.codes.end()) {
          return invalid(path, "expected one of " + joined(element.codes));
        }
      } else if (!is_code(text)) {
        return invalid(path, "expected a code (no leading, trailing or repeated whitespace)");
      }
      return {};
    case Kind::uri:
      if (!is_uri(text)) return invalid(path, "expected a URI (no whitespace)");
      return {};
    case Kind::date:
      if (!is_date(text, false)) return invalid(path, "expected a date (YYYY, YYYY-MM or YYYY-MM-DD, a day that exists)");
      return {};
    case Kind::date_time:
      if (!is_date(text, true)) {
        return invalid(path, "expected a dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.f] with a zone)");
      }
      return {};
    default:
      return {};
  }
}

Status check_element(const json& value, const Element& element, const std::string& path) {
  if (!element.array) {
    if (value.is_array()) return invalid(path, "expected a single value, not an array");
    return check_primitive(value, element, path);
  }
  if (!value.is_array()) return invalid(path, "expected an array");
  if (value.empty()) return invalid(path, "must not be empty (omit the element instead)");
  if (value.size() > kMaxArray) return invalid(path, "too many items (at most 1000)");
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto checked = check_primitive(value[i], element, path + "[" + std::to_string(i) + "]");
    if (!checked) return checked;
  }
  return {};
}

Status check_type(const json& value, const TypeDef& type, const std::string& path) {
  if (!value.is_object()) return invalid(path, "expected an object");
  if (value.empty()) return invalid(path, "must not be empty (omit the element instead)");
  for (const auto& [key, member] : value.items()) {
    const auto element = std::find_if(type.elements.begin(), type.elements.end(),
                                      [&key](const Element& candidate) { return candidate.name == key; });
    if (element == type.elements.end()) {
      const auto name = display_key(key);
      if (name.empty()) return invalid(path, "holds an element with an invalid name");
      return invalid(path + "." + name, "unknown element (not in the supported R4 subset)");
    }
    auto checked = check_element(member, *element, path + "." + key);
    if (!checked) return checked;
  }
  for (const auto& element : type.elements) {
    if (element.required && !value.contains(element.name)) {
      return invalid(path + "." + std::string(element.name), "required element missing");
    }
  }
  if (type.invariant) return type.invariant(value, path);
  return {};
}

// ---------------------------------------------------------------------------------------------
// SHA-1 (for RFC 9562 version 5 UUIDs only: names, not secrets)

std::array<std::uint8_t, 20> sha1(std::string_view message) {
  std::array<std::uint32_t, 5> h = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
  std::string data(message);
  const std::uint64_t bit_length = static_cast<std::uint64_t>(message.size()) * 8;
  data.push_back(static_cast<char>(0x80));
  while (data.size() % 64 != 56) data.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) data.push_back(static_cast<char>((bit_length >> shift) & 0xFF));
  const auto rotl = [](std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
  for (std::size_t block = 0; block < data.size(); block += 64) {
    std::array<std::uint32_t, 80> w{};
    for (std::size_t i = 0; i < 16; ++i) {
      for (std::size_t k = 0; k < 4; ++k) {
        w[i] = (w[i] << 8) | static_cast<std::uint8_t>(data[block + i * 4 + k]);
      }
    }
    for (std::size_t i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    auto [a, b, c, d, e] = h;
    for (std::size_t i = 0; i < 80; ++i) {
      std::uint32_t f = 0;
      std::uint32_t k = 0;
      if (i < 20) {
        f = (b & c) | (~b & d), k = 0x5A827999u;
      } else if (i < 40) {
        f = b ^ c ^ d, k = 0x6ED9EBA1u;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCu;
      } else {
        f = b ^ c ^ d, k = 0xCA62C1D6u;
      }
      const std::uint32_t next = rotl(a, 5) + f + e + k + w[i];
      e = d, d = c, c = rotl(b, 30), b = a, a = next;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
  }
  std::array<std::uint8_t, 20> digest{};
  for (std::size_t i = 0; i < 20; ++i) digest[i] = static_cast<std::uint8_t>(h[i / 4] >> (24 - 8 * (i % 4)));
  return digest;
}

// Cloister's namespace for name-based UUIDs: 6f0b3a52-8c1d-4e57-9a2f-3d4c5b6a7e81.
constexpr std::array<std::uint8_t, 16> kUuidNamespace = {0x6f, 0x0b, 0x3a, 0x52, 0x8c, 0x1d, 0x4e, 0x57,
                                                         0x9a, 0x2f, 0x3d, 0x4c, 0x5b, 0x6a, 0x7e, 0x81};

// ---------------------------------------------------------------------------------------------
// The provider's answer

struct Finding {
  std::string label;
  std::optional<double> probability;
  std::optional<double> score;
  std::optional<std::int64_t> voxels;
  std::optional<double> area_mm2;
  std::optional<double> volume_ml;
};

struct Frame {
  std::int64_t frame = 0;
  std::vector<Finding> findings;
};

struct Measure {
  std::optional<std::int64_t> voxels;
  std::optional<double> area_mm2;
  std::optional<double> volume_ml;
};

struct Diagnosis {
  std::string model_name, model_version, model_sha256, task;
  std::optional<std::string> intended_use;
  std::optional<std::string> modality;
  std::optional<std::int64_t> input_frames;
  std::vector<Finding> findings;
  std::vector<Frame> frames;
  bool segmented = false;
  std::map<std::string, Measure> measures;
};

std::unexpected<Error> bad_diagnosis(const std::string& path, std::string_view what) {
  return fail(ErrorCode::fhir_invalid, path + ": " + std::string(what));
}

Result<std::string> text_member(const json& object, const char* name, const std::string& path, bool required,
                                std::size_t max = 256) {
  const auto where = path + "." + name;
  if (!object.contains(name)) {
    if (required) return bad_diagnosis(where, "required member missing");
    return std::string();
  }
  const auto& value = object[name];
  if (!value.is_string() || value.get_ref<const std::string&>().empty()) return bad_diagnosis(where, "expected a non-empty string");
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() > max || !is_valid_utf8(text) || has_forbidden_control(text)) {
    return bad_diagnosis(where, "too long or not printable UTF-8");
  }
  return text;
}

Result<std::optional<double>> number_member(const json& object, const char* name, const std::string& path,
                                            double minimum, double maximum) {
  if (!object.contains(name)) return std::optional<double>();
  const auto& value = object[name];
  if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < minimum ||
      value.get<double>() > maximum) {
    return bad_diagnosis(path + "." + name, "expected a finite number in range");
  }
  return std::optional<double>(value.get<double>());
}

Result<std::optional<std::int64_t>> count_member(const json& object, const char* name, const std::string& path) {
  if (!object.contains(name)) return std::optional<std::int64_t>();
  const auto& value = object[name];
  if (!value.is_number_integer() || (value.is_number_unsigned() ? value.get<std::uint64_t>() > (1ull << 62)
                                                                 : value.get<std::int64_t>() < 0)) {
    return bad_diagnosis(path + "." + name, "expected a non-negative integer");
  }
  return std::optional<std::int64_t>(value.get<std::int64_t>());
}

Result<Measure> parse_measure(const json& object, const std::string& path) {
  Measure measure;
  auto voxels = count_member(object, "voxels", path);
  if (!voxels) return std::unexpected(voxels.error());
  auto area = number_member(object, "area_mm2", path, 0, 1e15);
  if (!area) return std::unexpected(area.error());
  auto volume = number_member(object, "volume_ml", path, 0, 1e15);
  if (!volume) return std::unexpected(volume.error());
  measure.voxels = *voxels, measure.area_mm2 = *area, measure.volume_ml = *volume;
  return measure;
}

Result<std::vector<Finding>> parse_findings(const json& findings, const std::string& path, bool segmented) {
  if (!findings.is_array()) return bad_diagnosis(path, "expected an array");
  std::vector<Finding> out;
  for (std::size_t i = 0; i < findings.size(); ++i) {
    const auto where = path + "[" + std::to_string(i) + "]";
    const auto& item = findings[i];
    if (!item.is_object()) return bad_diagnosis(where, "expected an object");
    Finding finding;
    auto label = text_member(item, "label", where, true);
    if (!label) return std::unexpected(label.error());
    if (!is_code(*label)) return bad_diagnosis(where + ".label", "expected a code (no leading, trailing or repeated whitespace)");
    finding.label = std::move(*label);
    auto probability = number_member(item, "probability", where, 0, 1);
    if (!probability) return std::unexpected(probability.error());
    auto score = number_member(item, "score", where, -1e300, 1e300);
    if (!score) return std::unexpected(score.error());
    finding.probability = *probability, finding.score = *score;
    if (finding.probability && finding.score) return bad_diagnosis(where, "holds both a probability and a score");
    if (!finding.probability && !finding.score && !segmented) {
      return bad_diagnosis(where, "needs a probability or a score");
    }
    auto measure = parse_measure(item, where);
    if (!measure) return std::unexpected(measure.error());
    finding.voxels = measure->voxels, finding.area_mm2 = measure->area_mm2, finding.volume_ml = measure->volume_ml;
    out.push_back(std::move(finding));
  }
  return out;
}

Result<Diagnosis> parse_diagnosis(const json& answer) {
  const std::string root = "diagnosis";
  if (!answer.is_object()) return bad_diagnosis(root, "expected an object");
  Diagnosis diagnosis;
  if (!answer.contains("model") || !answer["model"].is_object()) return bad_diagnosis(root + ".model", "expected an object");
  const auto& model = answer["model"];
  auto name = text_member(model, "name", root + ".model", true);
  if (!name) return std::unexpected(name.error());
  auto version = text_member(model, "version", root + ".model", true);
  if (!version) return std::unexpected(version.error());
  auto sha256 = text_member(model, "sha256", root + ".model", true);
  if (!sha256) return std::unexpected(sha256.error());
  auto task = text_member(model, "task", root + ".model", false);
  if (!task) return std::unexpected(task.error());
  diagnosis.model_name = *name, diagnosis.model_version = *version, diagnosis.model_sha256 = *sha256;
  diagnosis.task = *task;
  if (answer.contains("intended_use")) {
    auto intended = text_member(answer, "intended_use", root, true, 2000);
    if (!intended) return std::unexpected(intended.error());
    diagnosis.intended_use = *intended;
  }
  if (answer.contains("input")) {
    const auto& input = answer["input"];
    if (!input.is_object()) return bad_diagnosis(root + ".input", "expected an object");
    if (input.contains("modality")) {
      auto modality = text_member(input, "modality", root + ".input", true, 16);
      if (!modality) return std::unexpected(modality.error());
      diagnosis.modality = *modality;
    }
    auto frames = count_member(input, "frames", root + ".input");
    if (!frames) return std::unexpected(frames.error());
    diagnosis.input_frames = *frames;
  }
  diagnosis.segmented = answer.contains("segmentation") || diagnosis.task.starts_with("segmentation");
  if (!answer.contains("findings")) return bad_diagnosis(root + ".findings", "required member missing");
  auto findings = parse_findings(answer["findings"], root + ".findings", diagnosis.segmented);
  if (!findings) return std::unexpected(findings.error());
  diagnosis.findings = std::move(*findings);

  if (answer.contains("frames")) {
    const auto& frames = answer["frames"];
    if (!frames.is_array()) return bad_diagnosis(root + ".frames", "expected an array");
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const auto where = root + ".frames[" + std::to_string(i) + "]";
      if (!frames[i].is_object()) return bad_diagnosis(where, "expected an object");
      auto number = count_member(frames[i], "frame", where);
      if (!number) return std::unexpected(number.error());
      if (!*number) return bad_diagnosis(where + ".frame", "required member missing");
      if (!frames[i].contains("findings")) return bad_diagnosis(where + ".findings", "required member missing");
      auto frame_findings = parse_findings(frames[i]["findings"], where + ".findings", false);
      if (!frame_findings) return std::unexpected(frame_findings.error());
      diagnosis.frames.push_back({**number, std::move(*frame_findings)});
    }
  }

  if (answer.contains("segmentation")) {
    const auto& segmentation = answer["segmentation"];
    const auto where = root + ".segmentation";
    if (!segmentation.is_object()) return bad_diagnosis(where, "expected an object");
    if (segmentation.contains("labels")) {
      const auto& labels = segmentation["labels"];
      if (labels.is_object()) {  // {"<label>": {"voxels", "area_mm2" | "volume_ml"}} (docs/infer.md)
        for (const auto& [label, item] : labels.items()) {
          if (!item.is_object()) return bad_diagnosis(where + ".labels", "expected objects as values");
          auto measure = parse_measure(item, where + ".labels");
          if (!measure) return std::unexpected(measure.error());
          diagnosis.measures[label] = *measure;
        }
      } else if (labels.is_array()) {  // [{"index", "label", "voxels", …}] (what cloister-infer sends)
        for (std::size_t i = 0; i < labels.size(); ++i) {
          const auto item_path = where + ".labels[" + std::to_string(i) + "]";
          if (!labels[i].is_object()) return bad_diagnosis(item_path, "expected an object");
          auto label = text_member(labels[i], "label", item_path, true);
          if (!label) return std::unexpected(label.error());
          auto measure = parse_measure(labels[i], item_path);
          if (!measure) return std::unexpected(measure.error());
          diagnosis.measures[*label] = *measure;
        }
      } else {
        return bad_diagnosis(where + ".labels", "expected an object or an array");
      }
    }
  }
  return diagnosis;
}

bool is_negative_label(const StudyFacts& facts, std::string_view label) {
  const auto lowered = lower_ascii(label);
  return std::any_of(facts.negative_labels.begin(), facts.negative_labels.end(),
                     [&lowered](const std::string& negative) { return lower_ascii(negative) == lowered; });
}

Measure measure_of(const Diagnosis& diagnosis, const Finding& finding) {
  if (auto it = diagnosis.measures.find(finding.label); it != diagnosis.measures.end()) return it->second;
  return {finding.voxels, finding.area_mm2, finding.volume_ml};
}

// nullopt: no interpretation (a raw score).
std::optional<bool> is_positive(const StudyFacts& facts, const Diagnosis& diagnosis, const Finding& finding) {
  if (finding.probability) return !is_negative_label(facts, finding.label) && *finding.probability >= facts.positive_threshold;
  if (finding.score) return std::nullopt;
  // A segmentation finding: the label is in the mask (unless its count says otherwise).
  const auto measure = measure_of(diagnosis, finding);
  return !is_negative_label(facts, finding.label) && (!measure.voxels || *measure.voxels > 0);
}

// ---------------------------------------------------------------------------------------------
// Building the report

double round_to(double value, double scale) { return std::round(value * scale) / scale; }

std::string format_number(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

json coding(std::string_view system, std::string_view code, std::string_view display = {}) {
  json out = {{"system", system}, {"code", code}};
  if (!display.empty()) out["display"] = display;
  return out;
}

json percent(double probability) {
  return {{"value", round_to(probability * 100.0, 1e4)}, {"unit", "%"}, {"system", kUcumSystem}, {"code", "%"}};
}

json interpretation(bool positive) {
  return json::array({{{"coding", json::array({positive ? coding(kInterpretationSystem, "POS", "Positive")
                                                        : coding(kInterpretationSystem, "NEG", "Negative")})}}});
}

bool is_dicom_media(std::string_view media_type) {
  const auto lowered = lower_ascii(media_type);
  return lowered.starts_with("application/dicom") ||
         (lowered.starts_with("multipart/") && lowered.find("application/dicom") != std::string::npos);
}

bool is_dicom_uid(std::string_view uid) {
  return !uid.empty() && uid.size() <= 64 && uid.front() != '.' && uid.back() != '.' &&
         std::all_of(uid.begin(), uid.end(), [](char c) { return is_digit(c) || c == '.'; });
}

bool is_modality(std::string_view modality) {
  return !modality.empty() && modality.size() <= 16 && std::all_of(modality.begin(), modality.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
  });
}

Status check_facts(const StudyFacts& facts) {
  if (!is_fhir_id(facts.study_id)) return fail(ErrorCode::fhir_invalid, "study.study_id: not a FHIR id ([A-Za-z0-9.-]{1,64})");
  if (!is_fhir_id(facts.patient_id)) return fail(ErrorCode::fhir_invalid, "study.patient_id: not a FHIR id ([A-Za-z0-9.-]{1,64})");
  if (facts.media_type.empty()) return fail(ErrorCode::fhir_invalid, "study.media_type: required");
  if (facts.instances < 1) return fail(ErrorCode::fhir_invalid, "study.instances: expected at least 1");
  if (!(facts.positive_threshold > 0 && facts.positive_threshold <= 1)) {
    return fail(ErrorCode::fhir_invalid, "study.positive_threshold: expected a number in (0, 1]");
  }
  for (const auto& [uid, name] : {std::pair{&facts.study_instance_uid, "study_instance_uid"},
                                  std::pair{&facts.series_instance_uid, "series_instance_uid"},
                                  std::pair{&facts.sop_class_uid, "sop_class_uid"}}) {
    if (*uid && !is_dicom_uid(**uid)) return fail(ErrorCode::fhir_invalid, std::string("study.") + name + ": not a DICOM UID");
  }
  if (facts.modality && !is_modality(*facts.modality)) {
    return fail(ErrorCode::fhir_invalid, "study.modality: not a DICOM modality code");
  }
  if (!is_valid_utf8(facts.receipt_jti) || facts.receipt_jti.size() > 256 || has_forbidden_control(facts.receipt_jti)) {
    return fail(ErrorCode::fhir_invalid, "study.receipt_jti: not printable UTF-8 of at most 256 bytes");
  }
  return {};
}

std::string describe(const Finding& finding, const Measure& measure) {
  if (finding.probability) return finding.label + ", probability " + format_number(round_to(*finding.probability * 100, 10)) + "%";
  if (finding.score) return finding.label + ", raw score " + format_number(*finding.score) + " (not a probability)";
  std::string out = finding.label + ", present in the segmentation";
  if (measure.voxels) out += ", " + std::to_string(*measure.voxels) + " voxels";
  if (measure.area_mm2) out += ", area " + format_number(*measure.area_mm2) + " mm2";
  if (measure.volume_ml) out += ", volume " + format_number(*measure.volume_ml) + " mL";
  return out;
}

// The finding the conclusion leads with: the most probable (or largest) one, positives first.
const Finding* top_finding(const StudyFacts& facts, const Diagnosis& diagnosis) {
  const Finding* top = nullptr;
  auto rank = [&](const Finding& finding) {
    const auto positive = is_positive(facts, diagnosis, finding).value_or(false);
    double size = 0;
    if (finding.probability) size = *finding.probability;
    else if (finding.score) size = *finding.score;
    else if (auto measure = measure_of(diagnosis, finding); measure.voxels) size = static_cast<double>(*measure.voxels);
    return std::pair{positive ? 1 : 0, size};
  };
  for (const auto& finding : diagnosis.findings) {
    if (!top || rank(finding) > rank(*top)) top = &finding;
  }
  return top;
}

std::string conclusion(const StudyFacts& facts, const Diagnosis& diagnosis) {
  std::string text = "Automated result produced by model " + diagnosis.model_name + " version " + diagnosis.model_version +
                     "; not reviewed by a clinician. ";
  const auto* top = top_finding(facts, diagnosis);
  if (!top) {
    text += "No finding reported.";
  } else {
    const auto positive = is_positive(facts, diagnosis, *top);
    text += "Top finding: " + describe(*top, measure_of(diagnosis, *top));
    if (!positive) {
      text += ".";
    } else if (*positive) {
      text += top->probability ? " (positive at a threshold of " + format_number(facts.positive_threshold * 100) + "%)."
                               : " (positive).";
    } else {
      text += top->probability ? "; no positive finding at a threshold of " + format_number(facts.positive_threshold * 100) + "%."
                               : "; no positive finding.";
    }
  }
  if (diagnosis.intended_use) text += " Intended use: " + *diagnosis.intended_use;
  return text;
}

json measure_components(const Measure& measure) {
  json components = json::array();
  if (measure.voxels) {
    components.push_back({{"code", {{"coding", json::array({coding(kSegmentationMeasureSystem, "voxels", "Voxel count")})},
                                    {"text", "voxel count"}}},
                          {"valueInteger", *measure.voxels}});
  }
  if (measure.area_mm2) {
    components.push_back({{"code", {{"coding", json::array({coding(kSegmentationMeasureSystem, "area", "Area")})}, {"text", "area"}}},
                          {"valueQuantity", {{"value", *measure.area_mm2}, {"unit", "mm2"}, {"system", kUcumSystem}, {"code", "mm2"}}}});
  }
  if (measure.volume_ml) {
    components.push_back({{"code", {{"coding", json::array({coding(kSegmentationMeasureSystem, "volume", "Volume")})}, {"text", "volume"}}},
                          {"valueQuantity", {{"value", *measure.volume_ml}, {"unit", "mL"}, {"system", kUcumSystem}, {"code", "mL"}}}});
  }
  return components;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Patient

Result<nlohmann::json> validate_patient(const nlohmann::json& resource) {
  const std::string root = "Patient";
  if (!resource.is_object()) return invalid(root, "expected a JSON object");
  if (!resource.contains("resourceType")) return invalid(root + ".resourceType", "required element missing");
  if (resource["resourceType"] != "Patient") return invalid(root + ".resourceType", "expected \"Patient\"");
  json normalised = resource;
  normalised.erase("id");    // server-assigned
  normalised.erase("meta");  // server-assigned
  auto checked = check_type(normalised, kPatient, root);
  if (!checked) return std::unexpected(checked.error());
  return normalised;
}

Result<IdentifierQuery> parse_identifier_query(std::string_view token) {
  if (token.size() > 512) return fail(ErrorCode::bad_request, "identifier: the token is too long (at most 512 bytes)");
  IdentifierQuery query;
  const auto bar = token.find('|');
  if (bar == std::string_view::npos) {
    query.value = std::string(token);
  } else {
    query.system = std::string(token.substr(0, bar));
    query.value = std::string(token.substr(bar + 1));
    if (query.value.find('|') != std::string::npos) {
      return fail(ErrorCode::bad_request, "identifier: expected system|value or value (one \"|\" at most)");
    }
  }
  if (query.value.empty()) return fail(ErrorCode::bad_request, "identifier: the value is empty (expected system|value or value)");
  return query;
}

std::vector<std::pair<std::string, std::string>> identifiers_of(const nlohmann::json& patient) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!patient.is_object() || !patient.contains("identifier") || !patient["identifier"].is_array()) return out;
  for (const auto& identifier : patient["identifier"]) {
    if (!identifier.is_object() || !identifier.contains("value") || !identifier["value"].is_string()) continue;
    std::string system;
    if (identifier.contains("system") && identifier["system"].is_string()) system = identifier["system"].get<std::string>();
    out.emplace_back(std::move(system), identifier["value"].get<std::string>());
  }
  return out;
}

bool matches(const IdentifierQuery& query, const nlohmann::json& patient) {
  for (const auto& [system, value] : identifiers_of(patient)) {
    if (value == query.value && (!query.system || *query.system == system)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Server resources

std::string fhir_instant(std::int64_t unix_seconds) {
  using namespace std::chrono;
  const sys_seconds point{seconds(unix_seconds)};
  const auto day = floor<days>(point);
  const year_month_day date{day};
  const hh_mm_ss time{point - day};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()));
  return buffer;
}

nlohmann::json with_meta(nlohmann::json resource, std::string_view id, std::int64_t version,
                         std::int64_t last_updated_unix) {
  resource["id"] = id;
  resource["meta"] = {{"versionId", std::to_string(version)}, {"lastUpdated", fhir_instant(last_updated_unix)}};
  return resource;
}

nlohmann::json searchset(const std::vector<nlohmann::json>& resources, std::string_view base_url) {
  while (base_url.ends_with('/')) base_url.remove_suffix(1);
  json bundle = {{"resourceType", "Bundle"}, {"type", "searchset"}, {"total", resources.size()}};
  json entries = json::array();
  for (const auto& resource : resources) {
    const auto type = resource.value("resourceType", std::string());
    const auto id = resource.value("id", std::string());
    entries.push_back({{"fullUrl", std::string(base_url) + "/" + type + "/" + id},
                       {"resource", resource},
                       {"search", {{"mode", "match"}}}});
  }
  if (!entries.empty()) bundle["entry"] = std::move(entries);  // FHIR: no empty arrays
  return bundle;
}

std::string name_based_uuid(std::string_view name) {
  std::string message(kUuidNamespace.begin(), kUuidNamespace.end());
  message.append(name);
  auto digest = sha1(message);
  digest[6] = static_cast<std::uint8_t>((digest[6] & 0x0F) | 0x50);  // version 5
  digest[8] = static_cast<std::uint8_t>((digest[8] & 0x3F) | 0x80);  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The report

bool has_positive_finding(const StudyFacts& facts, const nlohmann::json& diagnosis) {
  auto parsed = parse_diagnosis(diagnosis);
  if (!parsed) return false;
  return std::any_of(parsed->findings.begin(), parsed->findings.end(), [&](const Finding& finding) {
    return is_positive(facts, *parsed, finding).value_or(false);
  });
}

Result<nlohmann::json> report_bundle(const StudyFacts& facts, const nlohmann::json& answer) {
  auto facts_ok = check_facts(facts);
  if (!facts_ok) return std::unexpected(facts_ok.error());
  auto parsed = parse_diagnosis(answer);
  if (!parsed) return std::unexpected(parsed.error());
  const auto& diagnosis = *parsed;

  const std::string name_root = "cloister-report:" + facts.study_id + ":";
  const auto urn = [&](std::string_view part) { return "urn:uuid:" + name_based_uuid(name_root + std::string(part)); };
  const auto issued = fhir_instant(facts.issued_at);
  const auto effective = fhir_instant(facts.submitted_at);
  const json subject = {{"reference", "Patient/" + facts.patient_id}};
  const std::string model_display = diagnosis.model_name + " version " + diagnosis.model_version;

  json entries = json::array();
  json report = {
      {"resourceType", "DiagnosticReport"},
      {"id", facts.study_id},
      {"status", "final"},
      {"category", json::array({{{"coding", json::array({coding(kDiagnosticServiceSectionSystem, "RAD", "Radiology")})}}})},
      {"code", {{"coding", json::array({coding(kLoincSystem, "18748-4", "Diagnostic imaging study")})},
                {"text", "Diagnostic imaging study"}}},
      {"subject", subject},
      {"effectiveDateTime", effective},
      {"issued", issued},
  };
  if (!facts.receipt_jti.empty()) {
    report["identifier"] = json::array({{{"system", kReceiptSystem}, {"value", facts.receipt_jti}}});
  }

  // The ImagingStudy (DICOM only: a PNG or JPEG carries no study identity).
  std::optional<std::string> study_urn;
  json imaging_study;
  if (is_dicom_media(facts.media_type)) {
    study_urn = urn("imaging-study");
    const auto modality = facts.modality ? facts.modality : diagnosis.modality;
    if (modality && !is_modality(*modality)) {
      return fail(ErrorCode::fhir_invalid, "diagnosis.input.modality: not a DICOM modality code");
    }
    imaging_study = {{"resourceType", "ImagingStudy"},
                     {"id", study_urn->substr(9)},
                     {"status", "available"},
                     {"subject", subject},
                     {"started", effective},
                     {"numberOfSeries", 1},
                     {"numberOfInstances", facts.instances}};
    if (facts.study_instance_uid) {
      imaging_study["identifier"] =
          json::array({{{"system", "urn:dicom:uid"}, {"value", "urn:oid:" + *facts.study_instance_uid}}});
    }
    if (modality) imaging_study["modality"] = json::array({coding(kDicomSystem, *modality)});
    // A series needs its UID and modality (both 1..1 in R4).
    if (facts.series_instance_uid && modality) {
      imaging_study["series"] = json::array({{{"uid", *facts.series_instance_uid},
                                              {"modality", coding(kDicomSystem, *modality)},
                                              {"numberOfInstances", facts.instances}}});
    }
    report["imagingStudy"] = json::array({{{"reference", *study_urn}}});
  }

  // One Observation per finding.
  json results = json::array();
  json conclusion_codes = json::array();
  json observations = json::array();
  for (std::size_t i = 0; i < diagnosis.findings.size(); ++i) {
    const auto& finding = diagnosis.findings[i];
    const auto observation_urn = urn("observation:" + std::to_string(i));
    const auto positive = is_positive(facts, diagnosis, finding);
    json observation = {
        {"resourceType", "Observation"},
        {"id", observation_urn.substr(9)},
        {"status", "final"},
        {"category", json::array({{{"coding", json::array({coding(kObservationCategorySystem, "imaging", "Imaging")})}}})},
        {"code", {{"coding", json::array({coding(kModelLabelSystem, finding.label, finding.label)})}, {"text", finding.label}}},
        {"subject", subject},
        {"effectiveDateTime", effective},
        {"issued", issued},
        {"device", {{"display", model_display}}},
        {"method", {{"text", "model " + diagnosis.model_sha256}}},
    };
    if (finding.probability) {
      observation["valueQuantity"] = percent(*finding.probability);
    } else if (finding.score) {
      observation["valueQuantity"] = {{"value", *finding.score}};
    }
    if (positive) {
      observation["interpretation"] = interpretation(*positive);
      if (*positive) conclusion_codes.push_back({{"coding", json::array({coding(kModelLabelSystem, finding.label, finding.label)})}});
    }
    if (study_urn) observation["derivedFrom"] = json::array({{{"reference", *study_urn}}});

    json components = json::array();
    if (diagnosis.segmented) components = measure_components(measure_of(diagnosis, finding));
    for (const auto& frame : diagnosis.frames) {
      const auto match = std::find_if(frame.findings.begin(), frame.findings.end(),
                                      [&finding](const Finding& candidate) { return candidate.label == finding.label; });
      if (match == frame.findings.end()) continue;
      const auto number = std::to_string(frame.frame);
      json component = {{"code", {{"coding", json::array({coding(kFrameSystem, number, "frame " + number)})}, {"text", "frame " + number}}}};
      if (match->probability) {
        component["valueQuantity"] = percent(*match->probability);
        component["interpretation"] =
            interpretation(!is_negative_label(facts, match->label) && *match->probability >= facts.positive_threshold);
      } else if (match->score) {
        component["valueQuantity"] = {{"value", *match->score}};
      }
      components.push_back(std::move(component));
    }
    if (!diagnosis.frames.empty()) {
      observation["note"] = json::array(
          {{{"text", "Maximum over " + std::to_string(diagnosis.frames.size()) + " frames; one component per frame."}}});
    }
    if (!components.empty()) observation["component"] = std::move(components);

    results.push_back({{"reference", observation_urn}});
    observations.push_back({{"fullUrl", observation_urn}, {"resource", std::move(observation)}});
  }
  if (!results.empty()) report["result"] = std::move(results);
  report["conclusion"] = conclusion(facts, diagnosis);
  if (!conclusion_codes.empty()) report["conclusionCode"] = std::move(conclusion_codes);

  entries.push_back({{"fullUrl", urn("diagnostic-report")}, {"resource", std::move(report)}});
  if (study_urn) entries.push_back({{"fullUrl", *study_urn}, {"resource", std::move(imaging_study)}});
  for (auto& entry : observations) entries.push_back(std::move(entry));

  return json{{"resourceType", "Bundle"},
              {"id", name_based_uuid(name_root + "bundle")},
              {"type", "collection"},
              {"timestamp", issued},
              {"entry", std::move(entries)}};
}

}  // namespace cloister::platform::fhir
