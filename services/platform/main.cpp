// cloister-platform: the medical platform's API. First cut (foundation): an attested service that
// serves its attestation to the portal (GET /v1/attestation) and proves itself to the diagnostic
// provider with mutual attestation (GET /v1/provider/check). Patients, studies and reports come
// with the platform-API issue.
#include "provider_client.h"

#include "cloister/service/attested_service.h"

#include <nlohmann/json.hpp>

using namespace cloister;

int main(int argc, char** argv) {
  service::AttestedService service(
      {"cloister-platform",
       "CLOISTER_PLATFORM_",
       "Medical platform API in a TEE",
       {{"provider.url", "", "Base URL of the diagnostic provider (cloister-infer)"}}},
      argc, argv);
  service.router().add("GET", "/v1/attestation", service.identity().attestation_handler(),
                       "The platform's evidence, runtime data and current token, for the portal");

  auto verifier = service.callers().verifier();
  platform::ProviderClient provider(service.config().get_string("provider.url"), service.identity(), verifier);
  service.router().add("GET", "/v1/provider/check",
                       [&](const http::Request&) -> Result<http::Response> {
                         if (service.config().get_string("provider.url").empty()) {
                           return fail(ErrorCode::unavailable, "provider.url is not configured");
                         }
                         auto result = provider.call("GET", "/attestation/caller");
                         if (!result) return std::unexpected(result.error());
                         return http::json_response(200, *result);
                       },
                       "Mutual attestation with the diagnostic provider: verify it, then call it with the platform's token");
  return service.run();
}
