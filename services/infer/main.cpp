// cloister-infer: the diagnostic provider. First cut (foundation): an attested service that
// accepts calls only from attested callers its policy allows (GET /attestation/caller). Models and
// the inference API come with the inference-server issue.
#include "cloister/service/attested_service.h"

int main(int argc, char** argv) {
  cloister::service::AttestedService service(
      {"cloister-infer", "CLOISTER_INFER_", "Diagnostic provider: confidential inference for attested callers", {}},
      argc, argv);
  return service.run();
}
