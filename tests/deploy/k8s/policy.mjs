// Cloister's own policy over rendered Kubernetes objects (deploy/k8s/README.md, "Checks").
// checkPolicy(objects, options) returns findings "<Kind> <namespace>/<name>: <what>"; none = pass.
//
// options.overlay          "dev" | "sgx" | "cvm" | other: selects the overlay-specific rules
// options.requireSecrets   every referenced Secret must be among the objects (dev generates them)

// Host paths an overlay may mount, and nothing else anywhere.
export const allowedHostPaths = {
  cvm: ["/sys/kernel/config/tsm"],
  sgx: ["/var/run/aesmd"],
};

// The workloads that run inside a TEE in the sgx and cvm overlays (keys, platform and infer also
// produce evidence; attest keeps its signing keys there).
export const teeWorkloads = ["cloister-attest", "cloister-keys", "cloister-platform", "cloister-infer"];

const podOwners = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

function id(object) {
  const ns = object?.metadata?.namespace;
  return `${object?.kind} ${ns ? `${ns}/` : ""}${object?.metadata?.name}`;
}

function podTemplate(object) {
  if (object.kind === "Pod") return { metadata: object.metadata, spec: object.spec };
  if (object.kind === "CronJob") return object.spec?.jobTemplate?.spec?.template;
  if (podOwners.has(object.kind)) return object.spec?.template;
  return null;
}

export function matchesSelector(selector, labels = {}) {
  if (selector === undefined || selector === null) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === "In" && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

function isEmptySelector(selector) {
  return selector !== undefined && Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0;
}

function imagePinned(image) {
  if (typeof image !== "string" || image === "") return false;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const last = image.split("/").pop();
  const colon = last.lastIndexOf(":");
  if (colon < 0) return false;
  const tag = last.slice(colon + 1);
  return tag !== "" && tag !== "latest";
}

function checkContainer(container, pod, kind, overlay, say) {
  const name = `${kind} ${container.name}`;
  const podSc = pod.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
  const runAsUser = sc.runAsUser ?? podSc.runAsUser;
  if (runAsNonRoot !== true) say(`${name}: runAsNonRoot is not true`);
  if (runAsUser === undefined || runAsUser === 0) say(`${name}: runAsUser is ${runAsUser === 0 ? "0 (root)" : "not set"}`);
  if ((sc.runAsGroup ?? podSc.runAsGroup) === 0) say(`${name}: runAsGroup is 0 (root)`);
  if (sc.privileged === true) say(`${name}: privileged`);
  if (sc.allowPrivilegeEscalation !== false) say(`${name}: allowPrivilegeEscalation is not false`);
  if (sc.readOnlyRootFilesystem !== true) say(`${name}: readOnlyRootFilesystem is not true`);
  if (!(sc.capabilities?.drop ?? []).includes("ALL")) say(`${name}: capabilities do not drop ALL`);
  if ((sc.capabilities?.add ?? []).length > 0) say(`${name}: adds capabilities ${sc.capabilities.add.join(", ")}`);
  const seccomp = (sc.seccompProfile ?? podSc.seccompProfile)?.type;
  if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") say(`${name}: seccompProfile is not RuntimeDefault`);
  if (!imagePinned(container.image)) say(`${name}: image ${container.image ?? "(none)"} is not pinned to a tag or digest (or is "latest")`);
  for (const [bucket, resource] of [["requests", "cpu"], ["requests", "memory"], ["limits", "cpu"], ["limits", "memory"]]) {
    if (container.resources?.[bucket]?.[resource] === undefined) say(`${name}: no ${resource} ${bucket}`);
  }
  if (kind === "container") {
    if (container.livenessProbe === undefined) say(`${name}: no livenessProbe`);
    if (container.readinessProbe === undefined) say(`${name}: no readinessProbe`);
  }
  if (overlay === "sgx" && kind === "container" && teeWorkloads.includes(pod.__app)) {
    for (const bucket of ["requests", "limits"]) {
      if (container.resources?.[bucket]?.["sgx.intel.com/epc"] === undefined) say(`${name}: no sgx.intel.com/epc ${bucket}`);
    }
    if ((container.command ?? [])[0] !== "gramine-sgx") say(`${name}: not started by gramine-sgx`);
  }
  for (const port of container.ports ?? []) {
    if (port.hostPort !== undefined) say(`${name}: hostPort ${port.hostPort}`);
  }
}

export function checkPolicy(objects, { overlay = "", requireSecrets = false } = {}) {
  const findings = [];
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const exists = (kind, ns, name) => objects.some((o) => o.kind === kind && o.metadata?.name === name &&
    (o.metadata?.namespace ?? "") === (ns ?? ""));
  const allowed = allowedHostPaths[overlay] ?? [];
  const workloads = [];

  for (const object of objects) {
    const say = (what) => findings.push(`${id(object)}: ${what}`);
    if (object.metadata?.namespace === undefined && !["Namespace", "ClusterRole", "ClusterRoleBinding",
      "RuntimeClass", "PriorityClass", "StorageClass", "CustomResourceDefinition"].includes(object.kind)) {
      say("no namespace");
    }
    const template = podTemplate(object);
    if (template === null || template === undefined) continue;
    const pod = template.spec ?? {};
    const labels = template.metadata?.labels ?? {};
    Object.defineProperty(pod, "__app", { value: labels["app.kubernetes.io/name"], enumerable: false, configurable: true });
    workloads.push({ object, labels, pod });
    if (pod.automountServiceAccountToken !== false) say("automountServiceAccountToken is not false");
    // Service links would put CLOISTER_<SERVICE>_* variables into the environment: every unknown
    // one stops a Cloister service with exit status 2.
    if (pod.enableServiceLinks !== false) say("enableServiceLinks is not false");
    for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
      if (pod[field] === true) say(`${field} is true`);
    }
    if ((pod.securityContext?.sysctls ?? []).length > 0) say("sets sysctls");
    if ((pod.containers ?? []).length === 0) say("no containers");
    for (const c of pod.containers ?? []) checkContainer(c, pod, "container", overlay, say);
    for (const c of pod.initContainers ?? []) checkContainer(c, pod, "initContainer", overlay, say);
    for (const c of pod.ephemeralContainers ?? []) checkContainer(c, pod, "ephemeralContainer", overlay, say);
    for (const volume of pod.volumes ?? []) {
      if (volume.hostPath !== undefined) {
        const where = String(volume.hostPath.path ?? "").replace(/\/+$/, "");
        if (!allowed.includes(where)) say(`hostPath volume ${volume.name} (${volume.hostPath.path}) is not allowed${overlay ? ` in ${overlay}` : ""}`);
      }
      const ns = object.metadata?.namespace;
      if (volume.configMap && volume.configMap.optional !== true && !exists("ConfigMap", ns, volume.configMap.name)) {
        say(`volume ${volume.name}: ConfigMap ${volume.configMap.name} is not defined`);
      }
      if (volume.secret && requireSecrets && volume.secret.optional !== true && !exists("Secret", ns, volume.secret.secretName)) {
        say(`volume ${volume.name}: Secret ${volume.secret.secretName} is not defined`);
      }
      if (volume.persistentVolumeClaim && !exists("PersistentVolumeClaim", ns, volume.persistentVolumeClaim.claimName)) {
        say(`volume ${volume.name}: PersistentVolumeClaim ${volume.persistentVolumeClaim.claimName} is not defined`);
      }
    }
    for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
      const ns = object.metadata?.namespace;
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef && e.configMapRef.optional !== true && !exists("ConfigMap", ns, e.configMapRef.name)) {
          say(`container ${c.name}: ConfigMap ${e.configMapRef.name} is not defined`);
        }
      }
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && requireSecrets && ref.optional !== true && !exists("Secret", ns, ref.name)) {
          say(`container ${c.name}: Secret ${ref.name} (env ${e.name}) is not defined`);
        }
      }
    }
    if (overlay === "cvm" && teeWorkloads.includes(labels["app.kubernetes.io/name"]) && !pod.runtimeClassName) {
      say("a TEE workload without runtimeClassName (confidential containers)");
    }
  }

  // NetworkPolicies: default deny in every namespace, and an allowing policy for every workload.
  const policies = byKind("NetworkPolicy");
  const namespaces = new Set([
    ...byKind("Namespace").map((n) => n.metadata?.name),
    ...objects.map((o) => o.metadata?.namespace).filter(Boolean),
  ]);
  for (const ns of namespaces) {
    const denies = policies.some((p) => p.metadata?.namespace === ns && isEmptySelector(p.spec?.podSelector) &&
      (p.spec?.policyTypes ?? []).includes("Ingress") && (p.spec?.policyTypes ?? []).includes("Egress") &&
      (p.spec?.ingress ?? []).length === 0 && (p.spec?.egress ?? []).length === 0);
    if (!denies) findings.push(`Namespace ${ns}: no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)`);
  }
  for (const p of policies) {
    for (const rule of [...(p.spec?.ingress ?? []), ...(p.spec?.egress ?? [])]) {
      if ((rule.from ?? rule.to ?? []).length === 0) findings.push(`${id(p)}: a rule without peers allows everyone`);
      if ((rule.ports ?? []).length === 0) findings.push(`${id(p)}: a rule without ports allows every port`);
      for (const peer of [...(rule.from ?? []), ...(rule.to ?? [])]) {
        if (peer.ipBlock?.cidr === "0.0.0.0/0" && (peer.ipBlock.except ?? []).length === 0) {
          findings.push(`${id(p)}: allows 0.0.0.0/0`);
        }
      }
    }
  }
  for (const { object, labels } of workloads) {
    const ns = object.metadata?.namespace;
    const allowing = policies.some((p) => p.metadata?.namespace === ns && !isEmptySelector(p.spec?.podSelector) &&
      matchesSelector(p.spec?.podSelector, labels) && (p.spec?.ingress ?? []).length > 0);
    if (!allowing) findings.push(`${id(object)}: no NetworkPolicy selects its pods to allow ingress`);
    if (!byKind("PodDisruptionBudget").some((b) => b.metadata?.namespace === ns && matchesSelector(b.spec?.selector, labels))) {
      findings.push(`${id(object)}: no PodDisruptionBudget selects its pods`);
    }
  }
  for (const service of byKind("Service")) {
    const ns = service.metadata?.namespace;
    const selector = service.spec?.selector;
    if (selector && !workloads.some((w) => w.object.metadata?.namespace === ns && matchesSelector({ matchLabels: selector }, w.labels))) {
      findings.push(`${id(service)}: its selector matches no workload`);
    }
  }
  for (const hpa of byKind("HorizontalPodAutoscaler")) {
    const target = hpa.spec?.scaleTargetRef;
    if (!exists(target?.kind, hpa.metadata?.namespace, target?.name)) findings.push(`${id(hpa)}: its target ${target?.kind}/${target?.name} is not defined`);
  }
  return findings;
}
