# Checks of the Kubernetes manifests (deploy/k8s, issue 9); included from tests/deploy/CMakeLists.txt.
#   deploy_k8s_yamllint        yamllint -c .yamllint.yaml deploy/
#   deploy_k8s_check_<overlay> kubectl kustomize renders it; every object validates against the
#                              Kubernetes schemas (npm kubernetes-models) with no unknown field; the
#                              policy of tests/deploy/k8s/policy.mjs holds
#   deploy_k8s_selftest        the checkers report bad objects (privileged, unknown field, no limits,
#                              host path, …) and yamllint rejects a bad file
# A missing tool makes a test exit 77 (skipped) saying what is missing; the npm dependencies come
# from scripts/setup.sh (`npm ci` in tests/deploy/k8s).
find_program(CLOISTER_K8S_KUBECTL kubectl)
find_program(CLOISTER_K8S_YAMLLINT yamllint)
find_program(CLOISTER_K8S_NODE node)

set(cloister_k8s_tests ${PROJECT_SOURCE_DIR}/tests/deploy/k8s)


cloister_deploy_test(NAME deploy_k8s_yamllint NEEDS CLOISTER_K8S_YAMLLINT
                  COMMAND ${CLOISTER_K8S_YAMLLINT} --strict -c ${PROJECT_SOURCE_DIR}/.yamllint.yaml deploy/)

foreach(overlay dev sgx cvm)
  cloister_deploy_test(NAME deploy_k8s_check_${overlay} NEEDS CLOISTER_K8S_NODE CLOISTER_K8S_KUBECTL
                    COMMAND ${CLOISTER_K8S_NODE} ${cloister_k8s_tests}/check.mjs --kubectl ${CLOISTER_K8S_KUBECTL}
                            --deploy ${PROJECT_SOURCE_DIR}/deploy/k8s ${overlay})
endforeach()

if(CLOISTER_K8S_YAMLLINT)
  set(cloister_k8s_yamllint_args --yamllint ${CLOISTER_K8S_YAMLLINT} --config ${PROJECT_SOURCE_DIR}/.yamllint.yaml)
endif()
cloister_deploy_test(NAME deploy_k8s_selftest NEEDS CLOISTER_K8S_NODE
                  COMMAND ${CLOISTER_K8S_NODE} ${cloister_k8s_tests}/selftest.mjs ${cloister_k8s_yamllint_args})
