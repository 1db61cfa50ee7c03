/**
 * Policy 2: the "restricted" Pod Security Standard
 * (https://kubernetes.io/docs/concepts/security/pod-security-standards/), checked before the resource
 * reaches a namespace that might not enforce it. Covered: host namespaces and ports, privileged,
 * allowPrivilegeEscalation, runAsNonRoot and runAsUser 0, capabilities, seccomp, volume types. Not
 * covered: AppArmor, SELinux options, procMount, sysctls (the builders set none of them).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containersOf, isRecord, podSpecOf, type PodSpecLike, type SecurityContextLike } from "./k8s.ts";

export const RESTRICTED_VOLUME_TYPES: readonly string[] = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
];
const ALLOWED_SECCOMP = ["RuntimeDefault", "Localhost"];
const ADDABLE_CAPABILITIES = ["NET_BIND_SERVICE"];

export function podSecurityProblems(pod: PodSpecLike): string[] {
  const problems: string[] = [];
  for (const field of ["hostNetwork", "hostPID", "hostIPC"] as const) {
    if (pod[field] === true) problems.push(`${field} is true: the pod must not share the node's namespaces.`);
  }
  const podSc: SecurityContextLike = isRecord(pod.securityContext) ? pod.securityContext : {};
  const podSeccomp = podSc.seccompProfile?.type;
  if (podSeccomp !== undefined && !ALLOWED_SECCOMP.includes(podSeccomp)) {
    problems.push(`securityContext.seccompProfile.type is "${podSeccomp}": use RuntimeDefault or Localhost.`);
  }
  if (podSc.runAsUser === 0) problems.push("securityContext.runAsUser is 0: the pod must not run as root.");

  for (const { label, c } of containersOf(pod)) {
    const sc: SecurityContextLike = isRecord(c.securityContext) ? c.securityContext : {};
    const fix: string[] = [];
    if (sc.privileged === true) fix.push("privileged must not be true");
    if (sc.allowPrivilegeEscalation !== false) fix.push("allowPrivilegeEscalation must be false");
    // Each container inherits the pod's setting unless it sets its own.
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) fix.push("runAsNonRoot must be true (here or in the pod's securityContext)");
    if (sc.runAsUser === 0) fix.push("runAsUser must not be 0");
    const drop = sc.capabilities?.drop ?? [];
    if (!Array.isArray(drop) || !drop.includes("ALL")) fix.push('capabilities.drop must include "ALL"');
    const added = (Array.isArray(sc.capabilities?.add) ? sc.capabilities.add : []).filter((cap: unknown) => typeof cap !== "string" || !ADDABLE_CAPABILITIES.includes(cap));
    if (added.length > 0) fix.push(`capabilities.add may hold only NET_BIND_SERVICE, not ${added.join(", ")}`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp === undefined) fix.push("seccompProfile.type must be RuntimeDefault or Localhost (here or in the pod's securityContext)");
    else if (!ALLOWED_SECCOMP.includes(seccomp)) fix.push(`seccompProfile.type is "${seccomp}", must be RuntimeDefault or Localhost`);
    const hostPorts = (Array.isArray(c.ports) ? c.ports : []).filter((p) => isRecord(p) && p.hostPort !== undefined && p.hostPort !== 0);
    if (hostPorts.length > 0) fix.push("ports must not set hostPort");
    if (fix.length > 0) problems.push(`${label}: ${fix.join("; ")}.`);
  }

  for (const [i, v] of (Array.isArray(pod.volumes) ? pod.volumes : []).entries()) {
    if (!isRecord(v)) continue;
    const types = Object.keys(v).filter((k) => k !== "name" && !RESTRICTED_VOLUME_TYPES.includes(k));
    if (types.length > 0) {
      problems.push(`volume "${typeof v.name === "string" ? v.name : `#${i}`}" is of type ${types.join(", ")}: only ${RESTRICTED_VOLUME_TYPES.join(", ")} are allowed.`);
    }
  }
  return problems;
}

export const podSecurityRestricted: ResourceValidationPolicy = {
  name: "pods-meet-restricted-pod-security-standard",
  description:
    'Pods meet the "restricted" Pod Security Standard: non-root, no privilege escalation, all capabilities dropped, RuntimeDefault or Localhost seccomp, no host namespaces, only the restricted volume types.',
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const pod = podSpecOf(args.type, args.props);
    if (!pod) return;
    for (const p of podSecurityProblems(pod)) reportViolation(p);
  },
};
