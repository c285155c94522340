// cloister-keys: attested key release. First cut (foundation): an attested service that checks
// attested callers (GET /attestation/caller). Key release and Redis credentials come with the
// key-release issue.
#include "cloister/service/attested_service.h"

int main(int argc, char** argv) {
  cloister::service::AttestedService service(
      {"cloister-keys", "CLOISTER_KEYS_", "Key release service: keys only for attested TEEs", {}}, argc, argv);
  return service.run();
}
