#include "fhir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

namespace cloister::platform::fhir {
namespace {

using nlohmann::json;

// A value that must never appear in an error detail (it stands for PHI).
constexpr std::string_view kCanary = "CANARY-7f3a Jane Q. Doe";

// Every valid resource and bundle the tests build goes to $CLOISTER_FHIR_OUT (when set), where
// tests/node/fhir_schema.mjs checks it against the official FHIR R4 JSON schema.
void emit(const std::string& name, const json& resource) {
  const char* directory = std::getenv("CLOISTER_FHIR_OUT");
  if (!directory || !*directory) return;
  std::ofstream out(std::filesystem::path(directory) / (name + ".json"));
  out << resource.dump(2) << '\n';
  ASSERT_TRUE(out.good()) << name;
}

json valid_patient() {
  return json::parse(R"({
    "resourceType": "Patient",
    "id": "client-chosen",
    "meta": {"versionId": "7", "lastUpdated": "2020-01-01T00:00:00Z"},
    "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Anna Example</div>"},
    "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace-city", "valueString": "Bern"},
                  {"url": "https://hospital.example/fhir/StructureDefinition/vip", "valueBoolean": false}],
    "identifier": [
      {"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR",
                                            "display": "Medical record number"}], "text": "MRN"},
       "system": "https://hospital.example/mrn", "value": "MRN-000123",
       "period": {"start": "2001-03-04"}, "assigner": {"display": "Example Hospital"}},
      {"system": "urn:oid:2.16.756.5.32", "value": "7560000000001"}
    ],
    "active": true,
    "name": [{"use": "official", "family": "Example", "given": ["Anna", "Maria"], "prefix": ["Dr."],
              "period": {"start": "1980-05-01T10:00:00+01:00"}},
             {"use": "nickname", "text": "Annie"}],
    "telecom": [{"system": "phone", "value": "+41 31 000 00 00", "use": "mobile", "rank": 1},
                {"system": "email", "value": "anna@example.org", "use": "home"}],
    "gender": "female",
    "birthDate": "1980-02-29",
    "deceasedBoolean": false,
    "address": [{"use": "home", "type": "both", "text": "Musterweg 1, 3000 Bern", "line": ["Musterweg 1"],
                 "city": "Bern", "district": "Bern-Mittelland", "state": "BE", "postalCode": "3000", "country": "CH",
                 "period": {"start": "2010", "end": "2030-12"}}],
    "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]},
    "multipleBirthInteger": 2,
    "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "de-CH"}]}, "preferred": true}],
    "generalPractitioner": [{"reference": "Practitioner/gp-1", "display": "Dr. House"}],
    "managingOrganization": {"reference": "Organization/hospital-1"},
    "contact": [{"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]}],
                 "name": {"family": "Example", "given": ["Bernd"]},
                 "telecom": [{"system": "phone", "value": "+41 31 000 00 01"}],
                 "address": {"city": "Thun"}, "gender": "male", "period": {"start": "2020-01-01"}},
                {"organization": {"display": "Example Care Home"}}]
  })");
}

// ---- Patient ----

TEST(Patient, ValidPatientRoundTripsWithoutIdAndMeta) {
  const auto input = valid_patient();
  auto patient = validate_patient(input);
  ASSERT_TRUE(patient) << patient.error().to_string();
  auto expected = input;
  expected.erase("id");
  expected.erase("meta");
  EXPECT_EQ(*patient, expected);
  EXPECT_FALSE(patient->contains("id"));
  EXPECT_FALSE(patient->contains("meta"));
  // Validating the normalised resource again gives it back unchanged.
  auto again = validate_patient(*patient);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(*again, *patient);
  emit("patient-full", *patient);
  emit("patient-stored", with_meta(*patient, "pat-0001", 3, 1795960800));
}

TEST(Patient, MinimalPatientIsOneIdentifier) {
  const json minimal = {{"resourceType", "Patient"}, {"identifier", {{{"value", "12345"}}}}};
  auto patient = validate_patient(minimal);
  ASSERT_TRUE(patient) << patient.error().to_string();
  EXPECT_EQ(*patient, minimal);
  emit("patient-minimal", with_meta(*patient, "pat-0002", 1, 0));
}

TEST(Patient, DeceasedDateTimeAndMultipleBirthBooleanAreAccepted) {
  auto input = valid_patient();
  input.erase("deceasedBoolean");
  input.erase("multipleBirthInteger");
  input["deceasedDateTime"] = "2024-07-01T08:30:00.250Z";
  input["multipleBirthBoolean"] = true;
  auto patient = validate_patient(input);
  ASSERT_TRUE(patient) << patient.error().to_string();
  emit("patient-deceased", *patient);
}

struct InvalidCase {
  std::string name;
  std::function<void(json&)> mutate;
  std::string expected_detail;  // a substring the detail must hold (the path and the reason)
};

std::string canary() { return std::string(kCanary); }

std::vector<InvalidCase> invalid_cases() {
  return {
      {"wrong resource type", [](json& p) { p["resourceType"] = canary(); }, "Patient.resourceType: expected \"Patient\""},
      {"missing resource type", [](json& p) { p.erase("resourceType"); }, "Patient.resourceType: required element missing"},
      {"unknown element", [](json& p) { p["favouriteColour"] = canary(); }, "Patient.favouriteColour: unknown element"},
      {"unknown element with a PHI-like name", [](json& p) { p[canary()] = "x"; }, "Patient: holds an element with an invalid name"},
      {"primitive extension", [](json& p) { p["_birthDate"] = {{"id", canary()}}; }, "Patient._birthDate: unknown element"},
      {"modifierExtension", [](json& p) { p["modifierExtension"] = {{{"url", "http://x.example/y"}, {"valueString", canary()}}}; },
       "Patient.modifierExtension: unknown element"},
      {"contained resources", [](json& p) { p["contained"] = {{{"resourceType", "Patient"}, {"id", canary()}}}; },
       "Patient.contained: unknown element"},
      {"nested unknown element", [](json& p) { p["name"][0]["nickname"] = canary(); }, "Patient.name[0].nickname: unknown element"},
      {"given not a string", [](json& p) { p["name"][0]["given"][1] = 42; }, "Patient.name[0].given[1]: expected a string"},
      {"given not an array", [](json& p) { p["name"][0]["given"] = canary(); }, "Patient.name[0].given: expected an array"},
      {"family is an array", [](json& p) { p["name"][0]["family"] = json::array({canary()}); },
       "Patient.name[0].family: expected a single value"},
      {"empty string", [](json& p) { p["name"][0]["family"] = ""; }, "Patient.name[0].family: must not be empty"},
      {"empty array", [](json& p) { p["telecom"] = json::array(); }, "Patient.telecom: must not be empty"},
      {"empty object", [](json& p) { p["maritalStatus"] = json::object(); }, "Patient.maritalStatus: must not be empty"},
      {"null", [](json& p) { p["gender"] = nullptr; }, "Patient.gender: null is not allowed"},
      {"name use", [](json& p) { p["name"][1]["use"] = canary(); }, "Patient.name[1].use: expected one of usual|official|temp|nickname|anonymous|old|maiden"},
      {"gender", [](json& p) { p["gender"] = canary(); }, "Patient.gender: expected one of male|female|other|unknown"},
      {"gender number", [](json& p) { p["gender"] = 5; }, "Patient.gender: expected a code"},
      {"birth date format", [](json& p) { p["birthDate"] = canary(); }, "Patient.birthDate: expected a date"},
      {"birth date that does not exist", [](json& p) { p["birthDate"] = "1981-02-29"; }, "Patient.birthDate: expected a date"},
      {"birth date with a time", [](json& p) { p["birthDate"] = "1980-02-29T10:00:00Z"; }, "Patient.birthDate: expected a date"},
      {"dateTime without zone", [](json& p) { p["name"][0]["period"]["start"] = "1980-05-01T10:00:00"; },
       "Patient.name[0].period.start: expected a dateTime"},
      {"both deceased", [](json& p) { p["deceasedDateTime"] = "2024-01-01"; }, "Patient: deceasedBoolean and deceasedDateTime are exclusive"},
      {"both multiple birth", [](json& p) { p["multipleBirthBoolean"] = true; }, "Patient: multipleBirthBoolean and multipleBirthInteger are exclusive"},
      {"multiple birth not integer", [](json& p) { p["multipleBirthInteger"] = 2.5; }, "Patient.multipleBirthInteger: expected an integer"},
      {"active not boolean", [](json& p) { p["active"] = canary(); }, "Patient.active: expected true or false"},
      {"telecom system", [](json& p) { p["telecom"][0]["system"] = canary(); }, "Patient.telecom[0].system: expected one of phone|fax|email|pager|url|sms|other"},
      {"telecom use", [](json& p) { p["telecom"][1]["use"] = "office"; }, "Patient.telecom[1].use: expected one of home|work|temp|old|mobile"},
      {"telecom value without system", [](json& p) { p["telecom"][1] = {{"value", canary()}}; }, "Patient.telecom[1]: a value needs a system (cpt-2)"},
      {"rank zero", [](json& p) { p["telecom"][0]["rank"] = 0; }, "Patient.telecom[0].rank: expected a positive integer"},
      {"rank decimal", [](json& p) { p["telecom"][0]["rank"] = 1.5; }, "Patient.telecom[0].rank: expected a positive integer"},
      {"rank string", [](json& p) { p["telecom"][0]["rank"] = "1"; }, "Patient.telecom[0].rank: expected a positive integer"},
      {"no identifier", [](json& p) { p.erase("identifier"); }, "Patient.identifier: Cloister needs at least one identifier with a value"},
      {"identifier without a value", [](json& p) { p["identifier"] = {{{"system", "https://hospital.example/mrn"}}}; },
       "Patient.identifier: Cloister needs at least one identifier with a value"},
      {"identifier value not a string", [](json& p) { p["identifier"][0]["value"] = 123456; }, "Patient.identifier[0].value: expected a string"},
      {"identifier system with spaces", [](json& p) { p["identifier"][1]["system"] = canary(); }, "Patient.identifier[1].system: expected a URI"},
      {"identifier use", [](json& p) { p["identifier"][0]["use"] = canary(); }, "Patient.identifier[0].use: expected one of usual|official|temp|secondary|old"},
      {"coding code whitespace", [](json& p) { p["maritalStatus"]["coding"][0]["code"] = " " + canary(); },
       "Patient.maritalStatus.coding[0].code: expected a code"},
      {"communication without language", [](json& p) { p["communication"][0] = {{"preferred", true}}; },
       "Patient.communication[0].language: required element missing"},
      {"contact without details", [](json& p) { p["contact"][1] = {{"relationship", p["contact"][0]["relationship"]}}; },
       "Patient.contact[1]: a contact needs a name, telecom, address or organization (pat-1)"},
      {"contact gender", [](json& p) { p["contact"][0]["gender"] = canary(); }, "Patient.contact[0].gender: expected one of"},
      {"address type", [](json& p) { p["address"][0]["type"] = canary(); }, "Patient.address[0].type: expected one of postal|physical|both"},
      {"address line number", [](json& p) { p["address"][0]["line"][0] = 1; }, "Patient.address[0].line[0]: expected a string"},
      {"reference unknown member", [](json& p) { p["managingOrganization"]["identifier"] = {{"value", canary()}}; },
       "Patient.managingOrganization.identifier: unknown element"},
      {"narrative not a div", [](json& p) { p["text"]["div"] = canary(); }, "Patient.text.div: expected an XHTML <div> element"},
      {"narrative script", [](json& p) { p["text"]["div"] = "<div><script>alert('" + canary() + "')</script></div>"; },
       "Patient.text.div: the narrative holds active content"},
      {"narrative without status", [](json& p) { p["text"].erase("status"); }, "Patient.text.status: required element missing"},
      {"extension without url", [](json& p) { p["extension"][0].erase("url"); }, "Patient.extension[0].url: required element missing"},
      {"extension relative url", [](json& p) { p["extension"][0]["url"] = "birthPlace"; }, "Patient.extension[0].url: expected an absolute URI"},
      {"extension with two values", [](json& p) { p["extension"][1]["valueString"] = canary(); },
       "Patient.extension[1]: an extension needs exactly one primitive value[x]"},
      {"complex extension", [](json& p) { p["extension"][0] = {{"url", "http://x.example/e"}, {"extension", {{{"url", "a"}, {"valueString", canary()}}}}}; },
       "Patient.extension[0].extension: unknown element"},
      {"control characters", [](json& p) { p["name"][0]["family"] = canary() + "\x01"; }, "Patient.name[0].family: holds control characters"},
      {"invalid UTF-8", [](json& p) { p["name"][0]["family"] = canary() + "\xC3"; }, "Patient.name[0].family: expected valid UTF-8"},
      {"too long", [](json& p) { p["name"][0]["family"] = canary() + std::string(70000, 'a'); }, "Patient.name[0].family: too long"},
  };
}

TEST(Patient, EachInvalidInputIsRefusedNamingThePathButNotTheValue) {
  for (const auto& test : invalid_cases()) {
    SCOPED_TRACE(test.name);
    auto input = valid_patient();
    test.mutate(input);
    auto patient = validate_patient(input);
    ASSERT_FALSE(patient);
    EXPECT_EQ(patient.error().code, ErrorCode::fhir_invalid);
    EXPECT_EQ(patient.error().status(), 400);
    EXPECT_NE(patient.error().detail.find(test.expected_detail), std::string::npos) << patient.error().detail;
    EXPECT_EQ(patient.error().detail.find("CANARY"), std::string::npos) << patient.error().detail;
    EXPECT_EQ(patient.error().detail.find("Jane"), std::string::npos) << patient.error().detail;
  }
}

// Every element of the valid patient replaced by every kind of JSON value: never a throw, never the
// value in the detail, and anything accepted validates again unchanged.
TEST(Patient, AnyValueAnywhereIsHandled) {
  const auto original = valid_patient();
  const std::vector<json> replacements = {nullptr, 7, -1, 0, 2.5, true, canary(), json::array({canary()}),
                                          json{{"x", canary()}}, json::array(), json::object(), "", "male"};
  std::size_t refused = 0, accepted = 0;
  const auto leaves = original.flatten();
  for (const auto& [pointer, leaf] : leaves.items()) {
    for (const auto& replacement : replacements) {
      auto input = original;
      input[json::json_pointer(pointer)] = replacement;
      Result<json> patient;
      ASSERT_NO_THROW(patient = validate_patient(input)) << pointer;
      if (patient) {
        ++accepted;
        EXPECT_EQ(validate_patient(*patient).value_or(json()), *patient) << pointer;
      } else {
        ++refused;
        EXPECT_EQ(patient.error().code, ErrorCode::fhir_invalid);
        EXPECT_EQ(patient.error().detail.find("CANARY"), std::string::npos) << pointer << ": " << patient.error().detail;
      }
    }
  }
  EXPECT_GT(refused, 500u);
  EXPECT_GT(accepted, 10u);  // e.g. strings replaced by other strings, id and meta replaced by anything
}

TEST(Patient, NonObjectsAreRefused) {
  for (const auto& input : {json(nullptr), json(canary()), json::array({valid_patient()}), json(5)}) {
    auto patient = validate_patient(input);
    ASSERT_FALSE(patient);
    EXPECT_EQ(patient.error().code, ErrorCode::fhir_invalid);
    EXPECT_EQ(patient.error().detail, "Patient: expected a JSON object");
  }
}

TEST(Patient, FhirDatesAndDateTimes) {
  auto with_birth_date = [](const std::string& date) {
    auto input = valid_patient();
    input["birthDate"] = date;
    return validate_patient(input).has_value();
  };
  for (const char* good : {"1980", "1980-02", "2000-02-29", "0001-01-01", "9999-12-31"}) EXPECT_TRUE(with_birth_date(good)) << good;
  for (const char* bad : {"0000", "80", "1980-2", "1980-13", "1980-00", "1980-04-31", "1900-02-29", "1980/01/01", "1980-01-01 "}) {
    EXPECT_FALSE(with_birth_date(bad)) << bad;
  }
  auto with_deceased = [](const std::string& date_time) {
    auto input = valid_patient();
    input.erase("deceasedBoolean");
    input["deceasedDateTime"] = date_time;
    return validate_patient(input).has_value();
  };
  for (const char* good : {"2024", "2024-05", "2024-05-06", "2024-05-06T07:08:09Z", "2024-05-06T07:08:09.123+14:00",
                           "2024-05-06T23:59:60-03:30"}) {
    EXPECT_TRUE(with_deceased(good)) << good;
  }
  for (const char* bad : {"2024-05-06T07:08Z", "2024-05-06T24:00:00Z", "2024-05-06T07:08:09+14:30", "2024-05-06T07:08:09.Z",
                          "2024-05-06T07:08:09+0100"}) {
    EXPECT_FALSE(with_deceased(bad)) << bad;
  }
}

// ---- Identifiers and search ----

TEST(Identifiers, IdentifiersOfListsSystemAndValue) {
  auto patient = validate_patient(valid_patient());
  ASSERT_TRUE(patient);
  (*patient)["identifier"].push_back({{"use", "old"}, {"value", "OLD-1"}});
  (*patient)["identifier"].push_back({{"system", "https://no-value.example"}});
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"https://hospital.example/mrn", "MRN-000123"}, {"urn:oid:2.16.756.5.32", "7560000000001"}, {"", "OLD-1"}};
  EXPECT_EQ(identifiers_of(*patient), expected);
  EXPECT_TRUE(identifiers_of(json::object()).empty());
  EXPECT_TRUE(identifiers_of(json(canary())).empty());
}

TEST(Identifiers, TokenSyntax) {
  auto both = parse_identifier_query("https://hospital.example/mrn|MRN-000123");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->system, "https://hospital.example/mrn");
  EXPECT_EQ(both->value, "MRN-000123");

  auto any_system = parse_identifier_query("MRN-000123");
  ASSERT_TRUE(any_system);
  EXPECT_FALSE(any_system->system.has_value());
  EXPECT_EQ(any_system->value, "MRN-000123");

  auto no_system = parse_identifier_query("|OLD-1");
  ASSERT_TRUE(no_system);
  ASSERT_TRUE(no_system->system.has_value());
  EXPECT_EQ(*no_system->system, "");
  EXPECT_EQ(no_system->value, "OLD-1");

  for (std::string bad : {std::string(), std::string("|"), std::string("https://hospital.example/mrn|"),
                          "a|" + canary() + "|b", std::string(600, 'x')}) {
    auto query = parse_identifier_query(bad);
    ASSERT_FALSE(query) << bad;
    EXPECT_EQ(query.error().code, ErrorCode::bad_request);
    EXPECT_EQ(query.error().detail.find("CANARY"), std::string::npos);
  }
}

TEST(Identifiers, MatchesComparesSystemOnlyWhenGiven) {
  auto patient = validate_patient(valid_patient());
  ASSERT_TRUE(patient);
  (*patient)["identifier"].push_back({{"value", "OLD-1"}});
  EXPECT_TRUE(matches(*parse_identifier_query("MRN-000123"), *patient));
  EXPECT_TRUE(matches(*parse_identifier_query("https://hospital.example/mrn|MRN-000123"), *patient));
  EXPECT_FALSE(matches(*parse_identifier_query("https://other.example/mrn|MRN-000123"), *patient));
  EXPECT_FALSE(matches(*parse_identifier_query("|MRN-000123"), *patient));
  EXPECT_TRUE(matches(*parse_identifier_query("|OLD-1"), *patient));
  EXPECT_FALSE(matches(*parse_identifier_query("mrn-000123"), *patient));
}

// ---- Server resources ----

TEST(Resources, InstantIsUtc) {
  EXPECT_EQ(fhir_instant(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(fhir_instant(1796047200), "2026-11-30T14:00:00Z");
  EXPECT_EQ(fhir_instant(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(fhir_instant(-1), "1969-12-31T23:59:59Z");
}

TEST(Resources, WithMetaSetsIdVersionAndLastUpdated) {
  auto patient = with_meta(*validate_patient(valid_patient()), "pat-42", 7, 1796047200);
  EXPECT_EQ(patient["id"], "pat-42");
  EXPECT_EQ(patient["meta"]["versionId"], "7");
  EXPECT_EQ(patient["meta"]["lastUpdated"], "2026-11-30T14:00:00Z");
  // Stored resources with meta are what the server returns; validating them again drops id and meta.
  auto normalised = validate_patient(patient);
  ASSERT_TRUE(normalised);
  EXPECT_FALSE(normalised->contains("meta"));
}

TEST(Resources, SearchsetBundle) {
  const auto first = with_meta(*validate_patient(valid_patient()), "pat-1", 2, 1796047200);
  const auto second = with_meta(json{{"resourceType", "Patient"}, {"identifier", {{{"value", "X"}}}}}, "pat-2", 1, 1796047201);
  auto bundle = searchset({first, second}, "https://platform.example/fhir/");
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  EXPECT_EQ(bundle["type"], "searchset");
  EXPECT_EQ(bundle["total"], 2);
  ASSERT_EQ(bundle["entry"].size(), 2u);
  EXPECT_EQ(bundle["entry"][0]["fullUrl"], "https://platform.example/fhir/Patient/pat-1");
  EXPECT_EQ(bundle["entry"][1]["fullUrl"], "https://platform.example/fhir/Patient/pat-2");
  EXPECT_EQ(bundle["entry"][1]["resource"], second);
  EXPECT_EQ(bundle["entry"][0]["search"]["mode"], "match");
  emit("searchset-two", bundle);

  auto empty = searchset({}, "https://platform.example/fhir");
  EXPECT_EQ(empty["total"], 0);
  EXPECT_FALSE(empty.contains("entry"));  // no empty arrays in FHIR
  emit("searchset-empty", empty);
}

TEST(Resources, NameBasedUuidsAreVersion5AndStable) {
  // Known answers from Python's uuid.uuid5(UUID("6f0b3a52-8c1d-4e57-9a2f-3d4c5b6a7e81"), name): the
  // namespace is Cloister's, the SHA-1 and the version/variant bits RFC 9562's.
  EXPECT_EQ(name_based_uuid("study-1"), "e02c5d76-6ad0-5d2c-85b7-7d177af9413e");
  EXPECT_EQ(name_based_uuid(""), "0fc64995-b8d5-5845-a073-c26225c370ae");
  EXPECT_EQ(name_based_uuid(std::string(100, 'x')), "a5747155-d634-564b-9b60-bce065d61194");  // two SHA-1 blocks
  const auto a = name_based_uuid("study-1");
  EXPECT_EQ(a, name_based_uuid("study-1"));
  EXPECT_NE(a, name_based_uuid("study-2"));
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '5');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  for (std::size_t i : {8u, 13u, 18u, 23u}) EXPECT_EQ(a[i], '-');
}

// ---- The diagnostic report ----

StudyFacts dicom_facts() {
  StudyFacts facts;
  facts.study_id = "st-9f2c41";
  facts.patient_id = "pat-0001";
  facts.submitted_at = 1796047200;
  facts.issued_at = 1796047260;
  facts.media_type = "application/dicom";
  facts.study_instance_uid = "1.2.826.0.1.3680043.8.498.1";
  facts.series_instance_uid = "1.2.826.0.1.3680043.8.498.2";
  facts.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2";
  facts.modality = "CT";
  facts.instances = 1;
  facts.receipt_jti = "rcpt-5b1e";
  return facts;
}

json classification(double nodule, double normal) {
  return {{"model", {{"name", "demo-chest-classifier"}, {"version", "1"}, {"sha256", std::string(64, 'a')}, {"task", "classification"}}},
          {"intended_use", "Demonstration only: not for diagnostic use."},
          {"input", {{"format", "dicom"}, {"modality", "CT"}, {"frames", 1}, {"rows", 128}, {"columns", 128}, {"channels", 1}}},
          {"findings", {{{"label", "nodule"}, {"probability", nodule}}, {{"label", "normal"}, {"probability", normal}},
                        {{"label", "effusion"}, {"probability", 1 - nodule - normal}}}}};
}

// The entries of a bundle by resource type.
std::vector<json> of_type(const json& bundle, std::string_view type) {
  std::vector<json> out;
  for (const auto& entry : bundle["entry"]) {
    if (entry["resource"]["resourceType"] == type) out.push_back(entry["resource"]);
  }
  return out;
}

std::string full_url_of(const json& bundle, std::string_view type) {
  for (const auto& entry : bundle["entry"]) {
    if (entry["resource"]["resourceType"] == type) return entry["fullUrl"];
  }
  return {};
}

// Every reference inside the bundle resolves to an entry's fullUrl (or is the patient).
void expect_references_resolve(const json& bundle) {
  std::set<std::string> urls;
  for (const auto& entry : bundle["entry"]) {
    EXPECT_TRUE(urls.insert(entry["fullUrl"].get<std::string>()).second) << "duplicate fullUrl";
    EXPECT_TRUE(entry["fullUrl"].get<std::string>().starts_with("urn:uuid:"));
  }
  std::function<void(const json&)> walk = [&](const json& node) {
    if (node.is_object()) {
      for (const auto& [key, value] : node.items()) {
        if (key == "reference" && value.is_string()) {
          const auto reference = value.get<std::string>();
          if (!reference.starts_with("Patient/")) {
            EXPECT_TRUE(urls.contains(reference)) << reference;
          }
        }
        walk(value);
      }
    } else if (node.is_array()) {
      for (const auto& item : node) walk(item);
    }
  };
  walk(bundle);
}

std::string interpretation_of(const json& observation) {
  return observation["interpretation"][0]["coding"][0]["code"];
}

TEST(Report, PositiveClassification) {
  const auto facts = dicom_facts();
  const auto diagnosis = classification(0.91, 0.08);
  auto bundle = report_bundle(facts, diagnosis);
  ASSERT_TRUE(bundle) << bundle.error().to_string();
  emit("report-classification-positive", *bundle);
  EXPECT_TRUE(has_positive_finding(facts, diagnosis));

  EXPECT_EQ((*bundle)["resourceType"], "Bundle");
  EXPECT_EQ((*bundle)["type"], "collection");
  EXPECT_EQ((*bundle)["timestamp"], "2026-11-30T14:01:00Z");
  expect_references_resolve(*bundle);

  const auto reports = of_type(*bundle, "DiagnosticReport");
  ASSERT_EQ(reports.size(), 1u);
  const auto& report = reports[0];
  EXPECT_EQ(report["id"], "st-9f2c41");
  EXPECT_EQ(report["status"], "final");
  EXPECT_EQ(report["category"][0]["coding"][0]["system"], "http://terminology.hl7.org/CodeSystem/v2-0074");
  EXPECT_EQ(report["category"][0]["coding"][0]["code"], "RAD");
  EXPECT_EQ(report["code"]["coding"][0]["system"], "http://loinc.org");
  EXPECT_EQ(report["code"]["coding"][0]["code"], "18748-4");
  EXPECT_EQ(report["subject"]["reference"], "Patient/pat-0001");
  EXPECT_EQ(report["effectiveDateTime"], "2026-11-30T14:00:00Z");
  EXPECT_EQ(report["issued"], "2026-11-30T14:01:00Z");
  EXPECT_EQ(report["identifier"][0]["value"], "rcpt-5b1e");
  ASSERT_EQ(report["result"].size(), 3u);
  EXPECT_EQ(report["imagingStudy"][0]["reference"], full_url_of(*bundle, "ImagingStudy"));
  const std::string conclusion = report["conclusion"];
  EXPECT_NE(conclusion.find("model demo-chest-classifier version 1"), std::string::npos) << conclusion;
  EXPECT_NE(conclusion.find("Top finding: nodule, probability 91%"), std::string::npos) << conclusion;
  EXPECT_NE(conclusion.find("positive at a threshold of 50%"), std::string::npos) << conclusion;
  EXPECT_NE(conclusion.find("Demonstration only: not for diagnostic use."), std::string::npos) << conclusion;
  ASSERT_EQ(report["conclusionCode"].size(), 1u);
  EXPECT_EQ(report["conclusionCode"][0]["coding"][0]["code"], "nodule");

  const auto observations = of_type(*bundle, "Observation");
  ASSERT_EQ(observations.size(), 3u);
  const auto& nodule = observations[0];
  EXPECT_EQ(nodule["status"], "final");
  EXPECT_EQ(nodule["category"][0]["coding"][0]["code"], "imaging");
  EXPECT_EQ(nodule["code"]["text"], "nodule");
  EXPECT_EQ(nodule["code"]["coding"][0]["system"], "https://cloister.example/fhir/CodeSystem/model-label");
  EXPECT_EQ(nodule["code"]["coding"][0]["code"], "nodule");
  EXPECT_EQ(nodule["subject"]["reference"], "Patient/pat-0001");
  EXPECT_DOUBLE_EQ(nodule["valueQuantity"]["value"].get<double>(), 91.0);
  EXPECT_EQ(nodule["valueQuantity"]["unit"], "%");
  EXPECT_EQ(nodule["valueQuantity"]["system"], "http://unitsofmeasure.org");
  EXPECT_EQ(nodule["valueQuantity"]["code"], "%");
  EXPECT_EQ(interpretation_of(nodule), "POS");
  EXPECT_EQ(nodule["interpretation"][0]["coding"][0]["system"], "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation");
  EXPECT_EQ(nodule["device"]["display"], "demo-chest-classifier version 1");
  EXPECT_EQ(nodule["method"]["text"], "model " + std::string(64, 'a'));
  EXPECT_EQ(nodule["derivedFrom"][0]["reference"], full_url_of(*bundle, "ImagingStudy"));
  EXPECT_EQ(interpretation_of(observations[1]), "NEG");  // normal
  EXPECT_EQ(interpretation_of(observations[2]), "NEG");  // effusion at 1%

  const auto studies = of_type(*bundle, "ImagingStudy");
  ASSERT_EQ(studies.size(), 1u);
  const auto& study = studies[0];
  EXPECT_EQ(study["status"], "available");
  EXPECT_EQ(study["identifier"][0]["system"], "urn:dicom:uid");
  EXPECT_EQ(study["identifier"][0]["value"], "urn:oid:1.2.826.0.1.3680043.8.498.1");
  EXPECT_EQ(study["subject"]["reference"], "Patient/pat-0001");
  EXPECT_EQ(study["started"], "2026-11-30T14:00:00Z");
  EXPECT_EQ(study["numberOfSeries"], 1);
  EXPECT_EQ(study["numberOfInstances"], 1);
  EXPECT_EQ(study["modality"][0]["system"], "http://dicom.nema.org/resources/ontology/DCM");
  EXPECT_EQ(study["modality"][0]["code"], "CT");
  EXPECT_EQ(study["series"][0]["uid"], "1.2.826.0.1.3680043.8.498.2");
  EXPECT_EQ(study["series"][0]["modality"]["code"], "CT");
  EXPECT_EQ(study["series"][0]["numberOfInstances"], 1);
}

TEST(Report, NegativeClassification) {
  const auto facts = dicom_facts();
  const auto diagnosis = classification(0.3, 0.65);
  auto bundle = report_bundle(facts, diagnosis);
  ASSERT_TRUE(bundle) << bundle.error().to_string();
  emit("report-classification-negative", *bundle);
  EXPECT_FALSE(has_positive_finding(facts, diagnosis));
  const auto report = of_type(*bundle, "DiagnosticReport")[0];
  EXPECT_FALSE(report.contains("conclusionCode"));
  const std::string conclusion = report["conclusion"];
  EXPECT_NE(conclusion.find("no positive finding at a threshold of 50%"), std::string::npos) << conclusion;
  for (const auto& observation : of_type(*bundle, "Observation")) EXPECT_EQ(interpretation_of(observation), "NEG");
}

TEST(Report, NegativeLabelsAreNeverPositiveAndTheThresholdIsTheFacts) {
  auto facts = dicom_facts();
  const auto diagnosis = classification(0.01, 0.99);  // "normal" at 99 %
  EXPECT_FALSE(has_positive_finding(facts, diagnosis));
  auto bundle = report_bundle(facts, diagnosis);
  ASSERT_TRUE(bundle);
  EXPECT_EQ(interpretation_of(of_type(*bundle, "Observation")[1]), "NEG");
  facts.negative_labels = {"NORMAL"};  // compared case-insensitively
  EXPECT_FALSE(has_positive_finding(facts, diagnosis));
  facts.negative_labels = {};
  EXPECT_TRUE(has_positive_finding(facts, diagnosis));

  facts = dicom_facts();
  facts.positive_threshold = 0.95;
  EXPECT_FALSE(has_positive_finding(facts, classification(0.91, 0.08)));
  facts.positive_threshold = 0.9;
  EXPECT_TRUE(has_positive_finding(facts, classification(0.91, 0.08)));
}

TEST(Report, SameInputsGiveTheSameBundle) {
  const auto facts = dicom_facts();
  auto first = report_bundle(facts, classification(0.91, 0.08));
  auto second = report_bundle(facts, classification(0.91, 0.08));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->dump(), second->dump());
  auto other_facts = facts;
  other_facts.study_id = "st-other";
  auto other = report_bundle(other_facts, classification(0.91, 0.08));
  ASSERT_TRUE(other);
  EXPECT_NE((*other)["id"], (*first)["id"]);
  EXPECT_NE((*other)["entry"][1]["fullUrl"], (*first)["entry"][1]["fullUrl"]);
}

TEST(Report, MultiFrameAnswerAddsOneComponentPerFrame) {
  auto facts = dicom_facts();
  facts.media_type = R"(multipart/related; type="application/dicom"; boundary=xyz)";
  facts.instances = 3;
  facts.modality.reset();  // from the answer's input.modality
  json diagnosis = classification(0.8, 0.15);
  diagnosis["input"]["frames"] = 3;
  diagnosis["aggregation"] = "max over frames";
  diagnosis["frames"] = json::array();
  for (int frame = 0; frame < 3; ++frame) {
    const double nodule = frame == 1 ? 0.8 : 0.1;
    diagnosis["frames"].push_back({{"frame", frame},
                                   {"findings", {{{"label", "normal"}, {"probability", 0.85 - nodule}},
                                                 {{"label", "nodule"}, {"probability", nodule}},
                                                 {{"label", "effusion"}, {"probability", 0.15}}}}});
  }
  auto bundle = report_bundle(facts, diagnosis);
  ASSERT_TRUE(bundle) << bundle.error().to_string();
  emit("report-multi-frame", *bundle);
  expect_references_resolve(*bundle);
  const auto nodule = of_type(*bundle, "Observation")[0];
  EXPECT_EQ(interpretation_of(nodule), "POS");
  ASSERT_EQ(nodule["component"].size(), 3u);
  EXPECT_EQ(nodule["component"][1]["code"]["coding"][0]["system"], "https://cloister.example/fhir/CodeSystem/image-frame");
  EXPECT_EQ(nodule["component"][1]["code"]["coding"][0]["code"], "1");
  EXPECT_DOUBLE_EQ(nodule["component"][1]["valueQuantity"]["value"].get<double>(), 80.0);
  EXPECT_EQ(interpretation_of(nodule["component"][1]), "POS");
  EXPECT_EQ(interpretation_of(nodule["component"][0]), "NEG");
  EXPECT_NE(nodule["note"][0]["text"].get<std::string>().find("3 frames"), std::string::npos);
  const auto study = of_type(*bundle, "ImagingStudy")[0];
  EXPECT_EQ(study["numberOfInstances"], 3);
  EXPECT_EQ(study["modality"][0]["code"], "CT");
}

json segmentation(bool volume) {
  json labels = json::array({{{"index", 0}, {"label", "background"}, {"voxels", 15000}},
                             {{"index", 1}, {"label", "lesion"}, {"voxels", 1384}}});
  const char* measure = volume ? "volume_ml" : "area_mm2";
  labels[0][measure] = volume ? 91.4 : 3750.0;
  labels[1][measure] = volume ? 8.43 : 346.0;
  return {{"model", {{"name", volume ? "demo-liver-3d" : "demo-lesion-2d"}, {"version", "2.1"}, {"sha256", std::string(64, 'b')},
                     {"task", volume ? "segmentation-3d" : "segmentation-2d"}}},
          {"intended_use", "Demonstration only."},
          {"input", {{"format", "dicom"}, {"modality", "MR"}, {"frames", volume ? 24 : 1}, {"rows", 128}, {"columns", 128}, {"channels", 1}}},
          {"findings", json::array({labels[1]})},
          {"segmentation", {{"labels", labels},
                            {"mask", {{"encoding", "rle"}, {"shape", {24, 128, 128}}, {"runs", {{0, 100}, {1, 20}}}}}}}};
}

TEST(Report, SegmentationWithAreaAndVolume) {
  auto facts = dicom_facts();
  facts.modality = "MR";
  for (bool volume : {false, true}) {
    SCOPED_TRACE(volume ? "volume" : "area");
    const auto diagnosis = segmentation(volume);
    auto bundle = report_bundle(facts, diagnosis);
    ASSERT_TRUE(bundle) << bundle.error().to_string();
    emit(volume ? "report-segmentation-volume" : "report-segmentation-area", *bundle);
    expect_references_resolve(*bundle);
    EXPECT_TRUE(has_positive_finding(facts, diagnosis));
    const auto observations = of_type(*bundle, "Observation");
    ASSERT_EQ(observations.size(), 1u);
    const auto& lesion = observations[0];
    EXPECT_EQ(lesion["code"]["text"], "lesion");
    EXPECT_EQ(interpretation_of(lesion), "POS");
    EXPECT_FALSE(lesion.contains("valueQuantity"));
    ASSERT_EQ(lesion["component"].size(), 2u);
    EXPECT_EQ(lesion["component"][0]["code"]["coding"][0]["code"], "voxels");
    EXPECT_EQ(lesion["component"][0]["valueInteger"], 1384);
    const auto& quantity = lesion["component"][1]["valueQuantity"];
    EXPECT_EQ(quantity["system"], "http://unitsofmeasure.org");
    EXPECT_EQ(quantity["code"], volume ? "mL" : "mm2");
    EXPECT_EQ(quantity["unit"], volume ? "mL" : "mm2");
    EXPECT_DOUBLE_EQ(quantity["value"].get<double>(), volume ? 8.43 : 346.0);
    const std::string conclusion = of_type(*bundle, "DiagnosticReport")[0]["conclusion"];
    EXPECT_NE(conclusion.find(volume ? "volume 8.43 mL" : "area 346 mm2"), std::string::npos) << conclusion;
    EXPECT_NE(conclusion.find("1384 voxels"), std::string::npos) << conclusion;
  }
}

TEST(Report, SegmentationLabelsAsAnObjectAndNothingFound) {
  auto facts = dicom_facts();
  json diagnosis = segmentation(false);
  diagnosis["findings"] = json::array();
  diagnosis["segmentation"]["labels"] = {{"background", {{"voxels", 16384}, {"area_mm2", 4096.0}}},
                                         {"lesion", {{"voxels", 0}, {"area_mm2", 0.0}}}};
  auto bundle = report_bundle(facts, diagnosis);
  ASSERT_TRUE(bundle) << bundle.error().to_string();
  emit("report-segmentation-nothing-found", *bundle);
  EXPECT_FALSE(has_positive_finding(facts, diagnosis));
  EXPECT_TRUE(of_type(*bundle, "Observation").empty());
  const auto report = of_type(*bundle, "DiagnosticReport")[0];
  EXPECT_FALSE(report.contains("result"));  // no empty arrays
  EXPECT_NE(report["conclusion"].get<std::string>().find("No finding reported."), std::string::npos);

  // The documented object form, with a finding present.
  diagnosis["findings"] = {{{"label", "lesion"}}};
  diagnosis["segmentation"]["labels"]["lesion"] = {{"voxels", 12}, {"area_mm2", 3.0}};
  bundle = report_bundle(facts, diagnosis);
  ASSERT_TRUE(bundle) << bundle.error().to_string();
  const auto lesion = of_type(*bundle, "Observation")[0];
  EXPECT_EQ(lesion["component"][0]["valueInteger"], 12);
  EXPECT_TRUE(has_positive_finding(facts, diagnosis));
}

TEST(Report, PngStudyHasNoImagingStudy) {
  StudyFacts facts;
  facts.study_id = "st-png-1";
  facts.patient_id = "pat-0001";
  facts.submitted_at = 1796047200;
  facts.issued_at = 1796047205;
  facts.media_type = "image/png";
  auto diagnosis = classification(0.6, 0.3);
  diagnosis["input"] = {{"format", "png"}, {"frames", 1}, {"rows", 256}, {"columns", 256}, {"channels", 1}};
  auto bundle = report_bundle(facts, diagnosis);
  ASSERT_TRUE(bundle) << bundle.error().to_string();
  emit("report-png", *bundle);
  expect_references_resolve(*bundle);
  EXPECT_TRUE(of_type(*bundle, "ImagingStudy").empty());
  ASSERT_EQ((*bundle)["entry"].size(), 4u);
  const auto report = of_type(*bundle, "DiagnosticReport")[0];
  EXPECT_FALSE(report.contains("imagingStudy"));
  EXPECT_FALSE(report.contains("identifier"));  // no receipt
  for (const auto& observation : of_type(*bundle, "Observation")) EXPECT_FALSE(observation.contains("derivedFrom"));
}

TEST(Report, RawScoresHaveNoInterpretation) {
  auto facts = dicom_facts();
  json diagnosis = classification(0.9, 0.05);
  diagnosis["findings"] = {{{"label", "nodule"}, {"score", 3.25}}, {{"label", "normal"}, {"score", -1.5}}};
  auto bundle = report_bundle(facts, diagnosis);
  ASSERT_TRUE(bundle) << bundle.error().to_string();
  emit("report-raw-scores", *bundle);
  EXPECT_FALSE(has_positive_finding(facts, diagnosis));
  const auto nodule = of_type(*bundle, "Observation")[0];
  EXPECT_DOUBLE_EQ(nodule["valueQuantity"]["value"].get<double>(), 3.25);
  EXPECT_FALSE(nodule["valueQuantity"].contains("unit"));
  EXPECT_FALSE(nodule.contains("interpretation"));
}

TEST(Report, MalformedDiagnosesAreRefusedNamingTheMember) {
  const auto facts = dicom_facts();
  struct Case {
    std::string name;
    std::function<void(json&)> mutate;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"not an object", [](json& d) { d = json::array(); }, "diagnosis: expected an object"},
      {"no model", [](json& d) { d.erase("model"); }, "diagnosis.model: expected an object"},
      {"no model name", [](json& d) { d["model"].erase("name"); }, "diagnosis.model.name: required member missing"},
      {"no model version", [](json& d) { d["model"].erase("version"); }, "diagnosis.model.version: required member missing"},
      {"no model sha256", [](json& d) { d["model"].erase("sha256"); }, "diagnosis.model.sha256: required member missing"},
      {"model name not a string", [](json& d) { d["model"]["name"] = 3; }, "diagnosis.model.name: expected a non-empty string"},
      {"no findings", [](json& d) { d.erase("findings"); }, "diagnosis.findings: required member missing"},
      {"findings not an array", [](json& d) { d["findings"] = json::object(); }, "diagnosis.findings: expected an array"},
      {"finding without label", [](json& d) { d["findings"][1].erase("label"); }, "diagnosis.findings[1].label: required member missing"},
      {"label with spaces around", [](json& d) { d["findings"][0]["label"] = " " + canary(); }, "diagnosis.findings[0].label: expected a code"},
      {"probability over 1", [](json& d) { d["findings"][0]["probability"] = 1.5; }, "diagnosis.findings[0].probability: expected a finite number"},
      {"probability a string", [](json& d) { d["findings"][0]["probability"] = canary(); }, "diagnosis.findings[0].probability"},
      {"neither probability nor score", [](json& d) { d["findings"][2].erase("probability"); }, "diagnosis.findings[2]: needs a probability or a score"},
      {"both", [](json& d) { d["findings"][2]["score"] = 1.0; }, "diagnosis.findings[2]: holds both"},
      {"frames not an array", [](json& d) { d["frames"] = canary(); }, "diagnosis.frames: expected an array"},
      {"frame without number", [](json& d) { d["frames"] = {{{"findings", json::array()}}}; }, "diagnosis.frames[0].frame: required member missing"},
      {"frame finding bad", [](json& d) { d["frames"] = {{{"frame", 0}, {"findings", {{{"label", "x"}}}}}}; },
       "diagnosis.frames[0].findings[0]: needs a probability or a score"},
      {"segmentation voxels negative", [](json& d) { d["segmentation"] = {{"labels", {{{"label", "x"}, {"voxels", -1}}}}}; },
       "diagnosis.segmentation.labels[0].voxels: expected a non-negative integer"},
      {"segmentation labels a string", [](json& d) { d["segmentation"] = {{"labels", canary()}}; },
       "diagnosis.segmentation.labels: expected an object or an array"},
      {"modality not a code", [](json& d) { d["input"]["modality"] = "c t"; }, "diagnosis.input.modality: not a DICOM modality code"},
  };
  for (const auto& test : cases) {
    SCOPED_TRACE(test.name);
    auto diagnosis = classification(0.91, 0.08);
    test.mutate(diagnosis);
    auto facts_for_case = facts;
    if (test.name == "modality not a code") facts_for_case.modality.reset();
    auto bundle = report_bundle(facts_for_case, diagnosis);
    ASSERT_FALSE(bundle);
    EXPECT_EQ(bundle.error().code, ErrorCode::fhir_invalid);
    EXPECT_NE(bundle.error().detail.find(test.expected), std::string::npos) << bundle.error().detail;
    EXPECT_EQ(bundle.error().detail.find("CANARY"), std::string::npos) << bundle.error().detail;
    EXPECT_FALSE(has_positive_finding(facts_for_case, diagnosis) && test.name != "modality not a code");
  }
}

TEST(Report, UnusableStudyFactsAreRefused) {
  const auto diagnosis = classification(0.91, 0.08);
  const std::vector<std::pair<std::function<void(StudyFacts&)>, std::string>> cases = {
      {[](StudyFacts& f) { f.study_id = "st/1"; }, "study.study_id"},
      {[](StudyFacts& f) { f.study_id = std::string(65, 'a'); }, "study.study_id"},
      {[](StudyFacts& f) { f.patient_id.clear(); }, "study.patient_id"},
      {[](StudyFacts& f) { f.media_type.clear(); }, "study.media_type"},
      {[](StudyFacts& f) { f.instances = 0; }, "study.instances"},
      {[](StudyFacts& f) { f.positive_threshold = 0; }, "study.positive_threshold"},
      {[](StudyFacts& f) { f.study_instance_uid = "1.2.x"; }, "study.study_instance_uid"},
      {[](StudyFacts& f) { f.series_instance_uid = "1..2."; }, "study.series_instance_uid"},
      {[](StudyFacts& f) { f.modality = "ct"; }, "study.modality"},
  };
  for (const auto& [mutate, expected] : cases) {
    auto facts = dicom_facts();
    mutate(facts);
    auto bundle = report_bundle(facts, diagnosis);
    ASSERT_FALSE(bundle) << expected;
    EXPECT_EQ(bundle.error().code, ErrorCode::fhir_invalid);
    EXPECT_NE(bundle.error().detail.find(expected), std::string::npos) << bundle.error().detail;
  }
}

TEST(Report, ADicomStudyWithoutUidsStillHasAnImagingStudy) {
  auto facts = dicom_facts();
  facts.study_instance_uid.reset();
  facts.series_instance_uid.reset();
  facts.modality.reset();
  auto diagnosis = classification(0.91, 0.08);
  diagnosis["input"].erase("modality");
  auto bundle = report_bundle(facts, diagnosis);
  ASSERT_TRUE(bundle) << bundle.error().to_string();
  emit("report-dicom-without-uids", *bundle);
  const auto study = of_type(*bundle, "ImagingStudy")[0];
  EXPECT_FALSE(study.contains("identifier"));
  EXPECT_FALSE(study.contains("series"));  // a series needs its UID and modality
  EXPECT_FALSE(study.contains("modality"));
  EXPECT_EQ(study["status"], "available");
}

}  // namespace
}  // namespace cloister::platform::fhir
