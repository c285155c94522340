#!/usr/bin/env python3
"""Checks of deploy/prometheus and deploy/gramine (issue 9), run by ctest (tests/deploy/monitoring.cmake).

  check_monitoring.py rules      promtool check rules + test rules; every alert tested both ways,
                                 annotated, using metric names and label values the services export
  check_monitoring.py config     promtool check config on a runnable copy, and the relabelling run
                                 through a real Prometheus on synthetic Kubernetes targets
  check_monitoring.py runbooks   every runbook anchor exists in docs/deploy.md
  check_monitoring.py gramine    each manifest template rendered (jinja2) and parsed (tomllib); policy
  check_monitoring.py selftest   the checks above reject a bad rule, a bad test and bad manifests

Exit status: 0 pass, 1 fail, 77 skipped (a tool is missing; the message names it).
"""

from __future__ import annotations

import copy
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SKIP = 77
ROOT = Path(os.environ.get("CLOISTER_SOURCE_DIR", Path(__file__).resolve().parents[3]))
PROM_DIR = ROOT / "deploy" / "prometheus"
RULES = PROM_DIR / "rules" / "cloister.rules.yml"
CONFIG = PROM_DIR / "prometheus.yml"
GRAMINE_DIR = ROOT / "deploy" / "gramine"
SERVICES = ("cloister-attest", "cloister-keys", "cloister-platform", "cloister-infer")
NAMESPACES = {"cloister-attest": "cloister-attestation", "cloister-keys": "cloister-platform",
              "cloister-platform": "cloister-platform", "cloister-infer": "cloister-provider"}


def skip(what: str) -> None:
    print(f"SKIPPED: {what} is missing (install it: scripts/setup.sh)")
    sys.exit(SKIP)


def need_yaml():
    try:
        import yaml  # noqa: PLC0415
    except ImportError:
        skip("python3-yaml (PyYAML)")
    return yaml


def need_tool(name: str) -> str:
    path = os.environ.get(f"CLOISTER_{name.upper()}") or shutil.which(name)
    if not path:
        skip(name)
    return path


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)


# --- rules -------------------------------------------------------------------------------------

def metric_names_in_sources() -> set[str]:
    """Metric families the C++ registers (.Name("cloister_…")) — the only names alerts may use."""
    names: set[str] = set()
    for folder in ("libs", "services"):
        for path in (ROOT / folder).rglob("*.cpp"):
            if "/test/" in str(path) or path.name.endswith("_test.cpp"):
                continue
            names.update(re.findall(r'\.Name\("(cloister_[a-z0-9_]+)"\)', path.read_text(errors="replace")))
    return names


def label_values_in_sources() -> set[str]:
    """Every string literal in the services' sources and every error code: the possible label values."""
    values: set[str] = set()
    for folder in ("libs", "services"):
        for path in (ROOT / folder).rglob("*.cpp"):
            values.update(re.findall(r'"([a-z_]+)"', path.read_text(errors="replace")))
    codes = ROOT / "libs" / "core" / "include" / "cloister" / "core" / "error_codes.inc"
    values.update(re.findall(r"^CLOISTER_ERROR\(([a-z_]+),", codes.read_text(), re.M))
    return values


# Series the services do not export and where they come from.
EXTERNAL_METRICS = {"up": "Prometheus", "kube_pod_status_ready": "kube-state-metrics"}
CHECKED_LABELS = ("outcome", "result", "route", "condition")


def rule_problems(rules_doc: dict, tests_docs: list[dict], known_metrics: set[str], known_values: set[str],
                  deploy_md: str | None = None) -> list[str]:
    problems: list[str] = []
    recorded = {r["record"] for g in rules_doc["groups"] for r in g["rules"] if "record" in r}
    alerts = [r for g in rules_doc["groups"] for r in g["rules"] if "alert" in r]
    if not alerts:
        problems.append("no alerts")
    for rule in [r for g in rules_doc["groups"] for r in g["rules"]]:
        name = rule.get("alert") or rule.get("record")
        expr = rule["expr"]
        tokens = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.sub(r'"[^"]*"', '""', expr)))
        for token in tokens:
            if ":" in token:
                if token not in recorded:
                    problems.append(f"{name}: uses recording rule {token}, which no rule records")
                continue
            if token.startswith("cloister_"):
                family = re.sub(r"_(bucket|count|sum)$", "", token)
                if token not in known_metrics and family not in known_metrics:
                    problems.append(f"{name}: metric {token} is not exported by any service")
        for token in tokens:
            if token.startswith("kube_") and token not in EXTERNAL_METRICS:
                problems.append(f"{name}: {token} is not a series the configuration collects")
        regex_names = re.findall(r'__name__=~"([^"]+)"', expr)
        for pattern in regex_names:
            if not any(re.fullmatch(pattern, m) for m in known_metrics):
                problems.append(f"{name}: __name__=~\"{pattern}\" matches no exported metric")
        for label, _op, value in re.findall(r'\b(' + "|".join(CHECKED_LABELS) + r')\s*(=~|!~|=|!=)\s*"([^"]*)"', expr):
            if label in ("route", "condition"):
                continue
            for alternative in value.split("|"):
                if alternative and alternative not in known_values:
                    problems.append(f"{name}: {label} value \"{alternative}\" is never exported")
        if "alert" not in rule:
            continue
        labels = rule.get("labels", {})
        annotations = rule.get("annotations", {})
        if labels.get("severity") not in ("critical", "warning"):
            problems.append(f"{name}: severity must be critical or warning, not {labels.get('severity')!r}")
        for key in ("summary", "description", "runbook"):
            if not annotations.get(key):
                problems.append(f"{name}: annotation {key} missing")
        runbook = annotations.get("runbook", "")
        if runbook and not re.fullmatch(r"docs/deploy\.md#[a-z0-9-]+", runbook):
            problems.append(f"{name}: runbook {runbook!r} is not a docs/deploy.md anchor")
        if "for" not in rule:
            problems.append(f"{name}: no 'for:' (alerts must not flap on one evaluation)")
        fired = silent = False
        for doc in tests_docs:
            for test in doc.get("tests", []):
                for case in test.get("alert_rule_test", []):
                    if case.get("alertname") != name:
                        continue
                    if case.get("exp_alerts"):
                        fired = True
                        for expected in case["exp_alerts"]:
                            if set(expected.get("exp_annotations", {})) != set(annotations):
                                problems.append(f"{name}: a test expects it to fire without checking every annotation")
                            if expected.get("exp_labels", {}).get("severity") != labels.get("severity"):
                                problems.append(f"{name}: a test expects it to fire without its severity label")
                    else:
                        silent = True
        if not fired:
            problems.append(f"{name}: no test case where it fires")
        if not silent:
            problems.append(f"{name}: no test case where it must not fire")
    if deploy_md is not None:
        anchors = {github_anchor(h) for h in re.findall(r"^#+\s+(.*)$", deploy_md, re.M)}
        anchors.update(re.findall(r'<a\s+(?:name|id)="([^"]+)"', deploy_md))
        for rule in alerts:
            anchor = rule.get("annotations", {}).get("runbook", "").partition("#")[2]
            if anchor and anchor not in anchors:
                problems.append(f"{rule['alert']}: docs/deploy.md has no heading with anchor #{anchor}")
    return problems


def github_anchor(heading: str) -> str:
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def check_rules() -> int:
    yaml = need_yaml()
    promtool = need_tool("promtool")
    failed = False
    result = run([promtool, "check", "rules", str(RULES)])
    print(result.stdout + result.stderr)
    failed |= result.returncode != 0
    tests = sorted(glob.glob(str(PROM_DIR / "tests" / "*.test.yml")))
    if not tests:
        print("FAIL: no deploy/prometheus/tests/*.test.yml")
        return 1
    result = run([promtool, "test", "rules", *tests], cwd=PROM_DIR / "tests")
    print(result.stdout + result.stderr)
    failed |= result.returncode != 0
    rules_doc = yaml.safe_load(RULES.read_text())
    tests_docs = [yaml.safe_load(Path(t).read_text()) for t in tests]
    problems = rule_problems(rules_doc, tests_docs, metric_names_in_sources(), label_values_in_sources())
    for problem in problems:
        print("FAIL:", problem)
    alerts = [r["alert"] for g in rules_doc["groups"] for r in g["rules"] if "alert" in r]
    print(f"{len(alerts)} alerts, each tested firing and silent; {len(problems)} policy problems")
    return 1 if failed or problems else 0


def check_runbooks() -> int:
    yaml = need_yaml()
    deploy_md = ROOT / "docs" / "deploy.md"
    if not deploy_md.exists():
        print("FAIL: docs/deploy.md does not exist; the alerts' runbook annotations point into it")
        return 1
    rules_doc = yaml.safe_load(RULES.read_text())
    problems = [p for p in rule_problems(rules_doc, [], set(), set(), deploy_md.read_text())
                if "docs/deploy.md has no heading" in p]
    for problem in problems:
        print("FAIL:", problem)
    print(f"runbook anchors: {len(problems)} missing")
    return 1 if problems else 0


# --- config --------------------------------------------------------------------------------------

K8S_SD_KEYS = {"role", "namespaces", "selectors", "api_server", "kubeconfig_file", "attach_metadata",
               "basic_auth", "authorization", "oauth2", "tls_config", "proxy_url", "follow_redirects",
               "enable_http2"}
K8S_ROLES = {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}


def sd_problems(config: dict) -> list[str]:
    """The parts Debian's promtool cannot check (it is built without Kubernetes discovery)."""
    problems = []
    jobs = {job["job_name"]: job for job in config.get("scrape_configs", [])}
    for service in SERVICES:
        job = jobs.get(service)
        if job is None:
            problems.append(f"no scrape job {service}")
            continue
        if job.get("scheme") != "https":
            problems.append(f"{service}: scheme must be https (the services serve TLS only)")
        tls = job.get("tls_config", {})
        if tls.get("insecure_skip_verify"):
            problems.append(f"{service}: insecure_skip_verify")
        if not tls.get("ca_file"):
            problems.append(f"{service}: tls_config.ca_file missing")
        if tls.get("server_name") != f"{service}.{NAMESPACES[service]}.svc":
            problems.append(f"{service}: tls_config.server_name must be {service}.{NAMESPACES[service]}.svc")
        sds = job.get("kubernetes_sd_configs", [])
        if not sds:
            problems.append(f"{service}: no kubernetes_sd_configs")
        for sd in sds:
            if sd.get("namespaces", {}).get("names") != [NAMESPACES[service]]:
                problems.append(f"{service}: must discover only namespace {NAMESPACES[service]}")
    for where, sd in all_k8s_sd(config):
        unknown = set(sd) - K8S_SD_KEYS
        if unknown:
            problems.append(f"{where}: unknown kubernetes_sd_configs keys {sorted(unknown)}")
        if sd.get("role") not in K8S_ROLES:
            problems.append(f"{where}: role {sd.get('role')!r} is not a Kubernetes SD role")
        if set(sd.get("namespaces", {})) - {"names", "own_namespace"}:
            problems.append(f"{where}: unknown namespaces keys")
    return problems


def all_k8s_sd(config: dict):
    for job in config.get("scrape_configs", []):
        for sd in job.get("kubernetes_sd_configs", []):
            yield job["job_name"], sd
    for index, am in enumerate(config.get("alerting", {}).get("alertmanagers", [])):
        for sd in am.get("kubernetes_sd_configs", []):
            yield f"alertmanagers[{index}]", sd


def runnable_copy(config: dict, workdir: Path, targets: dict[str, list[dict]]) -> dict:
    """The configuration with Kubernetes discovery replaced by file discovery of synthetic targets
    (same meta labels) and the CA path pointing at a real file."""
    config = copy.deepcopy(config)
    ca = workdir / "ca.pem"
    made = run([need_tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=cloister-test-ca", "-days", "1", "-keyout", str(workdir / "ca-key.pem"), "-out", str(ca)])
    if made.returncode != 0:
        raise RuntimeError("openssl could not make a test CA: " + made.stderr)
    for job in config.get("scrape_configs", []):
        if "kubernetes_sd_configs" in job:
            del job["kubernetes_sd_configs"]
            path = workdir / f"targets-{job['job_name']}.json"
            path.write_text(json.dumps(targets.get(job["job_name"], [])))
            job["file_sd_configs"] = [{"files": [str(path)]}]
        if "tls_config" in job and "ca_file" in job["tls_config"]:
            job["tls_config"]["ca_file"] = str(ca)
    for am in config.get("alerting", {}).get("alertmanagers", []):
        if "kubernetes_sd_configs" in am:
            del am["kubernetes_sd_configs"]
            path = workdir / "targets-alertmanager.json"
            path.write_text("[]")
            am["file_sd_configs"] = [{"files": [str(path)]}]
    shutil.copytree(PROM_DIR / "rules", workdir / "rules")
    return config


def endpoint(namespace: str, service: str, pod: str, address: str, port_name: str, node: str = "aks-sgx-0") -> dict:
    """One target as Kubernetes endpoints discovery would produce it (the meta labels relabelling reads)."""
    return {"targets": [address], "labels": {
        "__meta_kubernetes_namespace": namespace,
        "__meta_kubernetes_service_name": service,
        "__meta_kubernetes_endpoint_port_name": port_name,
        "__meta_kubernetes_endpoint_ready": "true",
        "__meta_kubernetes_pod_name": pod,
        "__meta_kubernetes_pod_node_name": node,
        "__meta_kubernetes_pod_ready": "true",
    }}


def synthetic_targets() -> tuple[dict[str, list[dict]], dict[str, set[tuple]]]:
    """What each job discovers in its namespace, and the targets (labels) it must keep."""
    ns_platform = [
        endpoint("cloister-platform", "cloister-keys", "cloister-keys-5f8b-q7m2", "192.0.2.11:8443", "https"),
        endpoint("cloister-platform", "cloister-platform", "cloister-platform-7b6d-h3j9", "192.0.2.12:8443", "https"),
        endpoint("cloister-platform", "cloister-redis", "cloister-redis-0", "192.0.2.13:6379", "redis"),
        endpoint("cloister-platform", "cloister-portal", "cloister-portal-6d5c-k2l3", "192.0.2.14:8443", "https"),
    ]
    targets = {
        "cloister-attest": [
            endpoint("cloister-attestation", "cloister-attest", "cloister-attest-6c9d-x2k4", "192.0.2.1:8443", "https"),
            endpoint("cloister-attestation", "cloister-attest", "cloister-attest-6c9d-m8n1", "192.0.2.2:8443", "https"),
        ],
        "cloister-keys": ns_platform,
        "cloister-platform": ns_platform,
        "cloister-infer": [
            endpoint("cloister-provider", "cloister-infer", "cloister-infer-84f7-w5r8", "192.0.2.21:8443", "https"),
            # a Service port without pods behind it (e.g. an external endpoint): no pod name, dropped
            {"targets": ["192.0.2.29:8443"], "labels": {"__meta_kubernetes_namespace": "cloister-provider",
                                                        "__meta_kubernetes_service_name": "cloister-infer"}},
        ],
        "kube-state-metrics": [],
    }
    expected = {
        "cloister-attest": {("cloister-attest", "cloister-attestation", "cloister-attest-6c9d-x2k4"),
                            ("cloister-attest", "cloister-attestation", "cloister-attest-6c9d-m8n1")},
        "cloister-keys": {("cloister-keys", "cloister-platform", "cloister-keys-5f8b-q7m2")},
        "cloister-platform": {("cloister-platform", "cloister-platform", "cloister-platform-7b6d-h3j9")},
        "cloister-infer": {("cloister-infer", "cloister-provider", "cloister-infer-84f7-w5r8")},
    }
    return targets, expected


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def relabel_problems(prometheus: str, config_path: Path, workdir: Path) -> list[str]:
    _, expected = synthetic_targets()
    port = free_port()
    log = open(workdir / "prometheus.log", "w")
    process = subprocess.Popen([prometheus, f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'data'}",
                                f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        active: list[dict] = []
        deadline = time.monotonic() + 30
        for _ in range(120):
            if time.monotonic() > deadline or process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets?state=active", timeout=2) as r:
                    active = json.load(r)["data"]["activeTargets"]
                if len(active) >= sum(len(v) for v in expected.values()):
                    break
            except OSError:
                pass
            time.sleep(0.25)
        if not active:
            return ["Prometheus did not start or discovered nothing: " + (workdir / "prometheus.log").read_text()[-2000:]]
        problems = []
        got: dict[str, set[tuple]] = {}
        for target in active:
            labels = target["labels"]
            got.setdefault(labels["job"], set()).add((labels.get("service"), labels.get("namespace"), labels.get("pod")))
            if labels.get("instance") != labels.get("pod"):
                problems.append(f"{labels['job']}: instance {labels.get('instance')!r} is not the pod name")
            if target.get("scrapeUrl", "").split("://")[0] != "https":
                problems.append(f"{labels['job']}: scrapes {target.get('scrapeUrl')} (not https)")
            if not target.get("scrapeUrl", "").endswith(":8443/metrics"):
                problems.append(f"{labels['job']}: scrapes {target.get('scrapeUrl')}")
        for job, want in expected.items():
            print(f"relabelled {job}: {sorted(got.get(job, set()))}")
            if got.get(job, set()) != want:
                problems.append(f"job {job}: kept {sorted(got.get(job, set()))}, expected {sorted(want)}")
        return problems
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def config_problems(config: dict, yaml, promtool: str, prometheus: str) -> list[str]:
    problems = sd_problems(config)
    rule_files = config.get("rule_files", [])
    matched = [f for pattern in rule_files for f in glob.glob(str(PROM_DIR / pattern))]
    if Path(RULES) not in [Path(m) for m in matched]:
        problems.append(f"rule_files {rule_files} do not load {RULES.relative_to(ROOT)}")
    with tempfile.TemporaryDirectory(prefix="cloister-prometheus-") as temp:
        workdir = Path(temp)
        targets, _ = synthetic_targets()
        runnable = runnable_copy(config, workdir, targets)
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(runnable, sort_keys=False))
        result = run([promtool, "check", "config", str(config_path)])
        print(result.stdout + result.stderr)
        if result.returncode != 0:
            problems.append("promtool check config failed on the runnable copy")
        elif "SUCCESS: 1 rule files found" not in result.stdout + result.stderr:
            problems.append("promtool check config found no rule files")
        else:
            problems += relabel_problems(prometheus, config_path, workdir)
    return problems


def check_config() -> int:
    yaml = need_yaml()
    promtool, prometheus = need_tool("promtool"), need_tool("prometheus")
    need_tool("openssl")
    problems = config_problems(yaml.safe_load(CONFIG.read_text()), yaml, promtool, prometheus)
    for problem in problems:
        print("FAIL:", problem)
    print(f"config: {len(problems)} problems")
    return 1 if problems else 0


# --- gramine -------------------------------------------------------------------------------------

GRAMINE_STANDIN = {
    "libos": "/usr/lib/x86_64-linux-gnu/gramine/libsysdb.so",
    "runtimedir": "/usr/lib/x86_64-linux-gnu/gramine/runtime/glibc",
}
ARCH_LIBDIR = "/lib/x86_64-linux-gnu"
STATE_DIR = "/var/lib/cloister"
MEASURED_FILES = ("/etc/cloister/config.json", "/etc/cloister/tls/ca-bundle.pem", "/etc/ssl/openssl.cnf")
# Host-supplied files an enclave may read unprotected, and why that is safe (README.md).
ALLOWED_FILES = {
    "file:/etc/cloister/tls/issuer.crt": "the operator's issuing CA certificate",
    "file:/etc/cloister/tls/issuer.key": "the operator's issuing CA key (identity rests on the token)",
    "file:/run/cloister/redis/admin-password": "cloister-keys' Redis admin password (the host created it)",
    "file:/var/lib/cloister-models/": "sealed models (AEAD under a released key)",
}
# sgx.max_threads must cover the service's threads at the default configuration (README.md).
MIN_THREADS = {"cloister-attest": 15, "cloister-keys": 26, "cloister-platform": 31, "cloister-infer": 34}


def render_manifest(text: str) -> str:
    try:
        import jinja2  # noqa: PLC0415
    except ImportError:
        skip("python3-jinja2")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.globals["gramine"] = {"libos": GRAMINE_STANDIN["libos"], "runtimedir": lambda: GRAMINE_STANDIN["runtimedir"]}
    return env.from_string(text).render(arch_libdir=ARCH_LIBDIR)


def flatten(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        out[name] = value
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
    return out


def covered(path: str, trusted: list[str]) -> bool:
    uri = "file:" + path
    return any(uri == t or (t.endswith("/") and uri.startswith(t)) for t in trusted)


def manifest_problems(service: str, rendered: str) -> list[str]:
    import tomllib  # noqa: PLC0415
    try:
        manifest = tomllib.loads(rendered)
    except tomllib.TOMLDecodeError as error:
        return [f"{service}: not TOML: {error}"]
    problems = []
    flat = flatten(manifest)
    for key in flat:
        if "insecure__" in key:
            problems.append(f"{service}: {key} (no insecure__ options)")
    for key in ("loader.argv_src_file", "loader.env_src_file", "fs.insecure__keys"):
        if key in flat:
            problems.append(f"{service}: {key} takes input from the host")
    loader, sgx, libos = manifest.get("loader", {}), manifest.get("sgx", {}), manifest.get("libos", {})
    entrypoint = libos.get("entrypoint", "")
    if entrypoint != f"/usr/local/bin/{service}":
        problems.append(f"{service}: libos.entrypoint is {entrypoint!r}, not /usr/local/bin/{service}")
    if loader.get("entrypoint", {}).get("uri") != f"file:{GRAMINE_STANDIN['libos']}":
        problems.append(f"{service}: loader.entrypoint.uri must be the LibOS")
    argv = loader.get("argv")
    if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
        problems.append(f"{service}: loader.argv must be a fixed list of strings")
    elif "--config" not in argv or argv[argv.index("--config") + 1:][:1] != ["/etc/cloister/config.json"]:
        problems.append(f"{service}: loader.argv must name --config /etc/cloister/config.json")
    for name, value in loader.get("env", {}).items():
        if not isinstance(value, str):
            problems.append(f"{service}: loader.env.{name} is not a fixed string (passthrough from the host)")
        if re.match(r"CLOISTER_", name):
            problems.append(f"{service}: loader.env.{name} overrides the measured configuration")
    if loader.get("log_level") != "error":
        problems.append(f"{service}: loader.log_level must be error")
    if sgx.get("debug") is not False:
        problems.append(f"{service}: sgx.debug must be false")
    if sgx.get("remote_attestation") != "dcap":
        problems.append(f"{service}: sgx.remote_attestation must be dcap (tee.format=sgx reads /dev/attestation)")
    size = sgx.get("enclave_size", "")
    match = re.fullmatch(r"(\d+)([KMG])", size)
    if not match or int(match.group(1)) & (int(match.group(1)) - 1):
        problems.append(f"{service}: sgx.enclave_size {size!r} must be a power of two like 1G")
    if not isinstance(sgx.get("max_threads"), int) or sgx["max_threads"] < MIN_THREADS.get(service, 1):
        problems.append(f"{service}: sgx.max_threads {sgx.get('max_threads')!r} < the {MIN_THREADS.get(service)} threads it runs")
    for key in ("isvprodid", "isvsvn"):
        if not isinstance(sgx.get(key), int) or sgx[key] < (1 if key == "isvprodid" else 0):
            problems.append(f"{service}: sgx.{key} must be set")
    if "edmm_enable" not in sgx:
        problems.append(f"{service}: sgx.edmm_enable must be decided explicitly")
    trusted = [t if isinstance(t, str) else t.get("uri", "") for t in sgx.get("trusted_files", [])]
    required = [f"file:{GRAMINE_STANDIN['libos']}", f"file:{GRAMINE_STANDIN['runtimedir']}/", f"file:{ARCH_LIBDIR}/",
                f"file:/usr{ARCH_LIBDIR}/", f"file:/usr/local/bin/{service}"]
    for uri in required:
        if uri not in trusted:
            problems.append(f"{service}: {uri} is not a trusted file")
    for path in MEASURED_FILES:
        if not covered(path, trusted):
            problems.append(f"{service}: {path} is not a trusted file")
    allowed = sgx.get("allowed_files", [])
    for uri in allowed:
        if uri not in ALLOWED_FILES:
            problems.append(f"{service}: allowed file {uri} is not on the list of harmless host files")
        if any(uri == t or (t.endswith('/') and uri.startswith(t)) or (uri.endswith('/') and t.startswith(uri))
               for t in trusted):
            problems.append(f"{service}: {uri} is both trusted and allowed")
    mounts = manifest.get("fs", {}).get("mounts", [])
    state = [m for m in mounts if m.get("path") == STATE_DIR]
    if len(state) != 1 or state[0].get("type") != "encrypted":
        problems.append(f"{service}: {STATE_DIR} (state_dir) must be one mount of type encrypted")
    for mount in mounts:
        if mount.get("type") == "encrypted":
            key = mount.get("key_name", "")
            env = loader.get("env", {})
            provisioned = (key == env.get("SECRET_PROVISION_SET_KEY") and env.get("SECRET_PROVISION_CONSTRUCTOR") == "1"
                           and "libsecret_prov_attest.so" in env.get("LD_PRELOAD", "")
                           and covered(env.get("SECRET_PROVISION_CA_CHAIN_PATH", "?"), trusted))
            if key not in ("_sgx_mrenclave", "_sgx_mrsigner") and not provisioned:
                problems.append(f"{service}: encrypted mount {mount.get('path')} uses key {key!r}, neither a sealing key "
                                "nor one provisioned by secret provisioning")
        elif mount.get("type", "chroot") == "chroot":
            path = mount.get("path", "")
            if path in ("/", "/etc", "/var", "/run", "/home", "/root"):
                problems.append(f"{service}: mounts the host's {path}")
            uri = mount.get("uri", "")
            if not (any(t == uri or t.startswith(uri.rstrip("/") + "/") for t in trusted)
                    or any(a == uri or a.startswith(uri.rstrip("/") + "/") for a in allowed)):
                problems.append(f"{service}: mount {path} holds neither trusted nor allowed files")
    for path in (entrypoint, "/etc/cloister/config.json"):
        if path and not any(path == m.get("path") or path.startswith(m.get("path", "").rstrip("/") + "/") for m in mounts):
            problems.append(f"{service}: {path} is not mounted")
    return problems


def check_gramine() -> int:
    problems = []
    prodids = {}
    for service in SERVICES:
        path = GRAMINE_DIR / f"{service}.manifest.template"
        if not path.exists():
            problems.append(f"{path.relative_to(ROOT)} missing")
            continue
        rendered = render_manifest(path.read_text())
        problems += manifest_problems(service, rendered)
        import tomllib  # noqa: PLC0415
        try:
            prodids.setdefault(tomllib.loads(rendered).get("sgx", {}).get("isvprodid"), []).append(service)
        except tomllib.TOMLDecodeError:
            pass
    for prodid, services in prodids.items():
        if len(services) > 1:
            problems.append(f"sgx.isvprodid {prodid} is shared by {services}: pinning by MRSIGNER + ISVPRODID "
                            "would not tell them apart")
    for problem in problems:
        print("FAIL:", problem)
    print(f"gramine: {len(SERVICES)} manifests, {len(problems)} problems")
    return 1 if problems else 0


# --- selftest ------------------------------------------------------------------------------------

def check_selftest() -> int:
    yaml = need_yaml()
    promtool = need_tool("promtool")
    failures = []

    def expect(what: str, problems: list[str], fragment: str) -> None:
        if not any(fragment in p for p in problems):
            failures.append(f"{what}: not reported (wanted '{fragment}', got {problems})")

    # Bad rules: policy checks.
    good = yaml.safe_load(RULES.read_text())
    metrics, values = metric_names_in_sources(), label_values_in_sources()
    tests = [yaml.safe_load(Path(t).read_text()) for t in sorted(glob.glob(str(PROM_DIR / "tests" / "*.test.yml")))]
    if rule_problems(good, tests, metrics, values):
        failures.append("the real rules do not pass the policy the self-test starts from")
    cases = [
        ("alert without severity", lambda r: r["labels"].pop("severity"), "severity"),
        ("alert without runbook", lambda r: r["annotations"].pop("runbook"), "annotation runbook missing"),
        ("alert without for", lambda r: r.pop("for"), "no 'for:'"),
        ("alert on a metric nobody exports", lambda r: r.update(expr="cloister_http_request_total > 0"),
         "not exported by any service"),
        ("alert on an outcome nobody exports", lambda r: r.update(expr='cloister_key_releases_total{outcome="release_refused"} > 0'),
         'outcome value "release_refused"'),
        ("alert with a runbook outside docs/deploy.md", lambda r: r["annotations"].update(runbook="https://wiki/x"),
         "not a docs/deploy.md anchor"),
    ]
    for what, mutate, fragment in cases:
        rules = copy.deepcopy(good)
        first_alert = next(r for g in rules["groups"] for r in g["rules"] if "alert" in r)
        mutate(first_alert)
        expect(what, rule_problems(rules, tests, metrics, values), fragment)
    rules = copy.deepcopy(good)
    rules["groups"][1]["rules"].append({"alert": "CloisterUntested", "expr": "up == 0", "for": "1m",
                                        "labels": {"severity": "warning"},
                                        "annotations": {"summary": "s", "description": "d",
                                                        "runbook": "docs/deploy.md#runbook-availability"}})
    expect("alert without tests", rule_problems(rules, tests, metrics, values), "CloisterUntested: no test case where it fires")
    expect("runbook anchor missing from docs/deploy.md",
           rule_problems(good, [], set(), set(), "# Deploying\n## Runbook: availability\n"),
           "has no heading with anchor #runbook-errors")

    # Bad rules: promtool itself — a broken expression, and an alert whose threshold moved so the
    # unit tests' expectations no longer hold.
    with tempfile.TemporaryDirectory(prefix="cloister-selftest-") as temp:
        workdir = Path(temp)
        broken = copy.deepcopy(good)
        broken["groups"][1]["rules"][0]["expr"] = "up{job=~\"cloister-.+\"} == == 0"
        (workdir / "broken.yml").write_text(yaml.safe_dump(broken, sort_keys=False))
        if run([promtool, "check", "rules", str(workdir / "broken.yml")]).returncode == 0:
            failures.append("promtool check rules accepted a broken expression")
        (workdir / "rules").mkdir()
        shifted = RULES.read_text().replace("> 0.05\n          and job:cloister_http_requests:rate5m > 0.1",
                                            "> 0.5\n          and job:cloister_http_requests:rate5m > 0.1")
        if shifted == RULES.read_text():
            failures.append("self-test could not find the CloisterHighErrorRate threshold to move")
        (workdir / "rules" / "cloister.rules.yml").write_text(shifted)
        (workdir / "tests").mkdir()
        for test in glob.glob(str(PROM_DIR / "tests" / "*.test.yml")):
            shutil.copy(test, workdir / "tests")
        result = run([promtool, "test", "rules", *sorted(glob.glob(str(workdir / "tests" / "*.test.yml")))],
                     cwd=workdir / "tests")
        if result.returncode == 0 or "CloisterHighErrorRate" not in result.stdout + result.stderr:
            failures.append("promtool test rules did not catch a moved alert threshold")

    # Bad scrape configuration.
    config = yaml.safe_load(CONFIG.read_text())
    if sd_problems(config):
        failures.append("the real prometheus.yml does not pass the policy the self-test starts from")
    bad = copy.deepcopy(config)
    job = next(j for j in bad["scrape_configs"] if j["job_name"] == "cloister-keys")
    job["tls_config"]["insecure_skip_verify"] = True
    job["kubernetes_sd_configs"][0]["role"] = "pods"
    job["kubernetes_sd_configs"][0]["namespace"] = "cloister-platform"
    problems = sd_problems(bad)
    expect("insecure_skip_verify", problems, "insecure_skip_verify")
    expect("a misspelt role", problems, "is not a Kubernetes SD role")
    expect("an unknown SD key", problems, "unknown kubernetes_sd_configs keys")
    # A relabelling that keeps every HTTPS endpoint of the namespace (the portal, the other service)
    # is caught by running it.
    loose = copy.deepcopy(config)
    job = next(j for j in loose["scrape_configs"] if j["job_name"] == "cloister-keys")
    job["relabel_configs"][0]["regex"] = ".+;.+:8443;.+"
    expect("a relabelling that keeps foreign targets",
           config_problems(loose, yaml, promtool, need_tool("prometheus")), "job cloister-keys: kept")

    # Bad manifests.
    template = (GRAMINE_DIR / "cloister-keys.manifest.template").read_text()
    good_rendered = render_manifest(template)
    if manifest_problems("cloister-keys", good_rendered):
        failures.append("the real cloister-keys manifest does not pass the policy the self-test starts from")
    manifest_cases = [
        ("debug enclave", ("sgx.debug = false", "sgx.debug = true"), "sgx.debug must be false"),
        ("epid attestation", ('sgx.remote_attestation = "dcap"', 'sgx.remote_attestation = "epid"'), "must be dcap"),
        ("argv from the host", ("loader.log_level", "loader.insecure__use_cmdline_argv = true\nloader.log_level"),
         "no insecure__ options"),
        ("environment passthrough", ('loader.env.MALLOC_ARENA_MAX = "4"', "loader.env.CLOISTER_KEYS_LOG__LEVEL = { passthrough = true }"),
         "not a fixed string"),
        ("plain state directory", ('{ type = "encrypted", path = "/var/lib/cloister", uri = "file:/var/lib/cloister", key_name = "cloister_state" }',
                                   '{ path = "/var/lib/cloister", uri = "file:/var/lib/cloister" }'), "must be one mount of type encrypted"),
        ("state key from nowhere", ('loader.env.SECRET_PROVISION_SET_KEY = "cloister_state"', 'loader.env.SECRET_PROVISION_SET_KEY = "other"'),
         "neither a sealing key"),
        ("configuration not measured", ('  "file:/etc/cloister/config.json",\n', ""), "/etc/cloister/config.json is not a trusted file"),
        ("binary not measured", ('  "file:/usr/local/bin/cloister-keys",\n', ""), "is not a trusted file"),
        ("secret as an allowed file", ('  "file:/etc/cloister/tls/issuer.key",\n', '  "file:/etc/cloister/tls/issuer.key",\n  "file:/var/lib/cloister/master.key",\n'),
         "not on the list of harmless host files"),
        ("no entrypoint", ('libos.entrypoint = "/usr/local/bin/cloister-keys"', ""), "libos.entrypoint"),
        ("too few threads", ("sgx.max_threads = 64", "sgx.max_threads = 8"), "sgx.max_threads"),
        ("not TOML", ("sgx.isvsvn = 1", "sgx.isvsvn = = 1"), "not TOML"),
    ]
    for what, (old, new), fragment in manifest_cases:
        if old not in template and old not in good_rendered:
            failures.append(f"self-test case '{what}': '{old}' not in the template")
            continue
        expect(what, manifest_problems("cloister-keys", good_rendered.replace(old, new)), fragment)

    for failure in failures:
        print("FAIL:", failure)
    print(f"selftest: {len(failures)} checks did not catch what they should")
    return 1 if failures else 0


def main() -> int:
    commands = {"rules": check_rules, "config": check_config, "runbooks": check_runbooks,
                "gramine": check_gramine, "selftest": check_selftest}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())
