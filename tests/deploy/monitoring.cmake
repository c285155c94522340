# Checks of the monitoring and enclave deployment files (deploy/prometheus, deploy/gramine; issue 9);
# included from tests/deploy/CMakeLists.txt. All in tests/deploy/monitoring/check_monitoring.py:
#   deploy_monitoring_rules     promtool check rules + promtool test rules (deploy/prometheus/tests);
#                               every alert tested firing and silent, with severity, summary,
#                               description and runbook; only metric names and label values the
#                               services export
#   deploy_monitoring_config    promtool check config on a runnable copy (Debian's promtool has no
#                               Kubernetes discovery: it is swapped for file discovery of synthetic
#                               endpoints with the same meta labels), then a real Prometheus applies
#                               the relabelling: each job keeps its own Service's pods only
#   deploy_monitoring_runbooks  every runbook anchor of the alerts is a heading of docs/deploy.md
#   deploy_gramine_manifests    each deploy/gramine template rendered with jinja2 (gramine.* stand-ins)
#                               and parsed with tomllib; the enclave policy holds (debug off, DCAP, no
#                               insecure__ options or host argv/env, encrypted state, measured files)
#   deploy_monitoring_selftest  the checks above report a bad rule, a moved threshold, a bad scrape
#                               configuration and bad manifests
# A missing tool makes a test exit 77 (skipped) saying what is missing.
find_program(CLOISTER_MON_PYTHON3 python3)
find_program(CLOISTER_MON_PROMTOOL promtool)
find_program(CLOISTER_MON_PROMETHEUS prometheus)
find_program(CLOISTER_MON_OPENSSL openssl)

set(cloister_monitoring_check ${PROJECT_SOURCE_DIR}/tests/deploy/monitoring/check_monitoring.py)

# cloister_monitoring_test(NAME name CHECK subcommand NEEDS tool-variable...)
function(cloister_monitoring_test)
  cmake_parse_arguments(ARG "" "NAME;CHECK" "NEEDS" ${ARGN})
  cloister_deploy_test(NAME ${ARG_NAME} NEEDS CLOISTER_MON_PYTHON3 ${ARG_NEEDS}
    COMMAND ${CLOISTER_MON_PYTHON3} ${cloister_monitoring_check} ${ARG_CHECK}
    ENVIRONMENT "CLOISTER_SOURCE_DIR=${PROJECT_SOURCE_DIR};CLOISTER_PROMTOOL=${CLOISTER_MON_PROMTOOL};CLOISTER_PROMETHEUS=${CLOISTER_MON_PROMETHEUS};CLOISTER_OPENSSL=${CLOISTER_MON_OPENSSL}")
endfunction()

cloister_monitoring_test(NAME deploy_monitoring_rules CHECK rules NEEDS CLOISTER_MON_PROMTOOL)
cloister_monitoring_test(NAME deploy_monitoring_config CHECK config
                         NEEDS CLOISTER_MON_PROMTOOL CLOISTER_MON_PROMETHEUS CLOISTER_MON_OPENSSL)
cloister_monitoring_test(NAME deploy_monitoring_runbooks CHECK runbooks)
cloister_monitoring_test(NAME deploy_gramine_manifests CHECK gramine)
cloister_monitoring_test(NAME deploy_monitoring_selftest CHECK selftest
                         NEEDS CLOISTER_MON_PROMTOOL CLOISTER_MON_PROMETHEUS CLOISTER_MON_OPENSSL)
# python3-jinja2 and python3-yaml are checked inside the script (exit 77 naming the package).
