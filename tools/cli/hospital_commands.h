#pragma once
// The hospital's side from the command line (docs/portal.md "From scripts"):
//
//   cloister submit   for hospital scripts: verify the platform against the hospital configuration,
//                     log in, seal and upload images for a patient, wait (progress bar), save each
//                     study's FHIR report Bundle
//   cloister demo     the seven steps of the reference architecture, narrated, on a real DICOM file;
//                     with no platform running it starts one (cloister up on free loopback ports)
//                     and stops it afterwards. Exit 0 only when every check and the diagnosis passed.

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace cloister::cli {

struct SubmitOptions {
  std::filesystem::path hospital_config;  // hospital_config.h
  std::filesystem::path ca_file;          // CA bundle for the platform's and attestation service's TLS
  std::string username;
  std::filesystem::path password_file;    // else CLOISTER_PASSWORD
  std::string patient;                    // the patient's identifier (MRN) in the configured system
  std::filesystem::path patient_file;     // a FHIR Patient created when no patient has that identifier
  std::string model;
  std::vector<std::filesystem::path> images;
  std::filesystem::path out_dir = ".";
  int timeout_seconds = 300;
  bool progress = true;
};

struct DemoOptions {
  std::filesystem::path state_dir = ".cloister";  // a running `cloister up`'s state, if any
  std::filesystem::path image = CLOISTER_DEMO_IMAGE;
  std::string model = "demo-chest-classifier";
  int timeout_seconds = 300;
  bool progress = true;
};

struct HospitalCommands {
  CLI::App* submit = nullptr;
  CLI::App* demo = nullptr;
  std::shared_ptr<SubmitOptions> submit_options = std::make_shared<SubmitOptions>();
  std::shared_ptr<DemoOptions> demo_options = std::make_shared<DemoOptions>();
};

HospitalCommands add_hospital_commands(CLI::App& app);
// The exit status when one of these commands was parsed, else -1.
int run_hospital_command(const HospitalCommands& commands);

int run_submit(const SubmitOptions& options);
int run_demo(const DemoOptions& options);

}  // namespace cloister::cli
