#pragma once
// FHIR R4 (JSON) for cloister-platform: the Patient resources hospitals send, identifier search, and
// the DiagnosticReport bundle built from a diagnostic provider's answer (docs/infer.md, "diagnose").
//
// Patient — a strict subset of R4 Patient (validate_patient):
//   resourceType "Patient"; id and meta are server-assigned and dropped from input; text (Narrative);
//   identifier[]; active; name[] (HumanName); telecom[] (ContactPoint); gender; birthDate;
//   deceasedBoolean | deceasedDateTime; address[]; maritalStatus; multipleBirthBoolean |
//   multipleBirthInteger; communication[]; generalPractitioner[]; managingOrganization; contact[];
//   extension[] (see below). Any other element (language, contained, photo, link, modifierExtension,
//   primitive extensions "_birthDate", …) is refused, as are nulls and FHIR's forbidden empties
//   (empty strings, arrays and objects).
//   Cloister's own rule: at least one identifier with a value (the hospital's MRN) — search needs it.
//   Extensions: accepted on the Patient itself only, each with an absolute `url` and exactly one
//   primitive value (valueBoolean, valueInteger, valueDecimal, valueString, valueUri, valueUrl,
//   valueCode, valueDate, valueDateTime); complex or nested extensions are refused (the platform could
//   not check them), and modifierExtension always is (it could change the meaning of what we store).
//   Invariants checked: pat-1 (a contact has details or an organization), cpt-2 (a ContactPoint with a
//   value has a system), one deceased[x] and one multipleBirth[x] at most, dates that exist.
//   Narrative div: must be an XHTML <div>…</div> without script, style, iframe, object, embed or form
//   elements and without "javascript:" (a crude filter: a portal must still never render it as HTML
//   unsanitised).
//   Errors: fhir_invalid with the element path, e.g. "Patient.name[0].given[1]: expected a string".
//   A detail never quotes a value (it may be PHI); an element name is echoed only when it looks like one
//   ([A-Za-z][A-Za-z0-9]* with an optional leading "_", at most 64 characters).
//
// The report bundle (report_bundle): a Bundle of type "collection" holding one DiagnosticReport (id =
// study id), one Observation per finding and, for DICOM studies, an ImagingStudy. Every entry has a
// fullUrl "urn:uuid:<uuid>" and references between them use those URNs (the official R4 JSON schema and
// FHIR's bundle rules accept them; a urn:uuid fullUrl need not equal the resource id). The patient is
// referenced relatively, "Patient/<patient id>", resolved against the platform's FHIR base. The uuids are
// name-based (RFC 9562 version 5) from the study id, so the same inputs give the same bundle.
// Left out: the segmentation mask (image data: it belongs in a Binary or Media resource, not in the
// report's Observations) and per-instance ImagingStudy data (SOP instance UIDs are not known here).

#include "cloister/core/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloister::platform::fhir {

// Code systems and naming systems of our own (the model's labels are not in any standard terminology).
inline constexpr std::string_view kModelLabelSystem = "https://cloister.example/fhir/CodeSystem/model-label";
inline constexpr std::string_view kFrameSystem = "https://cloister.example/fhir/CodeSystem/image-frame";
inline constexpr std::string_view kSegmentationMeasureSystem =
    "https://cloister.example/fhir/CodeSystem/segmentation-measure";
inline constexpr std::string_view kReceiptSystem = "https://cloister.example/fhir/NamingSystem/diagnosis-receipt";
// Standard ones.
inline constexpr std::string_view kLoincSystem = "http://loinc.org";
inline constexpr std::string_view kUcumSystem = "http://unitsofmeasure.org";
inline constexpr std::string_view kDicomSystem = "http://dicom.nema.org/resources/ontology/DCM";
inline constexpr std::string_view kDiagnosticServiceSectionSystem = "http://terminology.hl7.org/CodeSystem/v2-0074";
inline constexpr std::string_view kObservationCategorySystem =
    "http://terminology.hl7.org/CodeSystem/observation-category";
inline constexpr std::string_view kInterpretationSystem =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";

// ---- Patient ----

// The normalised Patient (the input without id and meta), or fhir_invalid naming the element.
Result<nlohmann::json> validate_patient(const nlohmann::json& resource);

// A FHIR token search on identifier: "system|value", "|value" (identifiers without a system) or
// "value" (any system). system: nullopt = any system; "" = only identifiers that have none.
struct IdentifierQuery {
  std::optional<std::string> system;
  std::string value;
};

// bad_request for an empty value ("" or "system|"), a second "|" or a token over 512 bytes. The detail
// never quotes the token.
Result<IdentifierQuery> parse_identifier_query(std::string_view token);

// Every identifier of a (validated) patient that has a value: (system, or "" when none; value).
std::vector<std::pair<std::string, std::string>> identifiers_of(const nlohmann::json& patient);

// Whether one of the patient's identifiers matches the query (system and value compared exactly).
bool matches(const IdentifierQuery& query, const nlohmann::json& patient);

// ---- Resources the server returns ----

// A FHIR instant in UTC, e.g. "2026-11-30T14:00:00Z".
std::string fhir_instant(std::int64_t unix_seconds);

// The resource with id, meta.versionId (the version as a string) and meta.lastUpdated set.
nlohmann::json with_meta(nlohmann::json resource, std::string_view id, std::int64_t version,
                         std::int64_t last_updated_unix);

// A searchset Bundle: total, and per resource fullUrl (base_url/<resourceType>/<id>), resource and
// search.mode "match". base_url without a trailing "/" (one is dropped if present).
nlohmann::json searchset(const std::vector<nlohmann::json>& resources, std::string_view base_url);

// ---- The diagnostic report ----

// What the platform knows about a study besides the provider's answer.
struct StudyFacts {
  std::string study_id;    // a FHIR id ([A-Za-z0-9.-]{1,64}); the DiagnosticReport's id
  std::string patient_id;  // a FHIR id; the subject is "Patient/<patient_id>"
  std::int64_t submitted_at = 0;  // unix seconds: effectiveDateTime, ImagingStudy.started
  std::int64_t issued_at = 0;     // unix seconds: issued, Bundle.timestamp
  std::string media_type;  // "application/dicom", a multipart DICOM series, "image/png", …
  std::optional<std::string> study_instance_uid, series_instance_uid, sop_class_uid, modality;
  std::int64_t instances = 1;
  std::string receipt_jti;  // the provider's receipt: DiagnosticReport.identifier when not empty
  double positive_threshold = 0.5;
  std::vector<std::string> negative_labels = {"normal", "background"};
};

// The report Bundle (see the top of this file). fhir_invalid, naming the member, when the diagnosis
// lacks model.name/version/sha256 or findings, or holds malformed findings, frames or segmentation
// labels; or when a study fact is not usable (ids, UIDs, modality, media type, instances).
//
// Findings: a probability (0..1) gives valueQuantity in % and POS/NEG by positive_threshold; a raw
// score gives a unitless valueQuantity and no interpretation (it is not calibrated); a segmentation
// finding (no probability, no score: the label is present in the mask) is POS, with its voxels, area
// (mm2) or volume (mL) as components. Labels in negative_labels (case-insensitive) are never positive.
// Multi-frame answers add one component per frame to each finding's Observation.
Result<nlohmann::json> report_bundle(const StudyFacts& facts, const nlohmann::json& diagnosis);

// Whether report_bundle would mark any finding positive (false for a malformed diagnosis).
bool has_positive_finding(const StudyFacts& facts, const nlohmann::json& diagnosis);

// A name-based (version 5) UUID in Cloister's namespace, e.g. for the ids of the report's resources.
std::string name_based_uuid(std::string_view name);

}  // namespace cloister::platform::fhir
