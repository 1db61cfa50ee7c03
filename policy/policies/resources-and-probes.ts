/** Policy 1: every container says what it needs (requests), what it may take (limits), and how it is checked (probes). */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { containersOf, podSpecOf, type PodSpecLike } from "./k8s.ts";

const RESOURCE_FIELDS = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"] as const;

/**
 * One message per container that lacks something. Init containers run to completion before the pod
 * starts, so they need resources (the scheduler counts them) but no probes.
 */
export function resourcesAndProbesProblems(pod: PodSpecLike): string[] {
  const problems: string[] = [];
  for (const { kind, label, c } of containersOf(pod)) {
    // Ephemeral containers are added to a running pod by `kubectl debug`; Kubernetes forbids both fields on them.
    if (kind === "ephemeral container") continue;
    const missing: string[] = RESOURCE_FIELDS.filter((f) => {
      const [section, name] = f.split(".") as ["requests" | "limits", string];
      const v = c.resources?.[section]?.[name];
      return v === undefined || v === null || v === "";
    }).map((f) => `resources.${f}`);
    if (kind === "container") {
      if (!c.livenessProbe) missing.push("livenessProbe");
      if (!c.readinessProbe) missing.push("readinessProbe");
    }
    if (missing.length > 0) problems.push(`${label} has no ${missing.join(", ")}: set cpu and memory requests and limits${kind === "container" ? ", and liveness and readiness probes" : ""}.`);
  }
  return problems;
}

export const resourcesAndProbes: ResourceValidationPolicy = {
  name: "containers-have-resources-and-probes",
  description: "Every container has cpu and memory requests and limits and a liveness and a readiness probe; init containers need the resources only.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const pod = podSpecOf(args.type, args.props);
    if (!pod) return;
    for (const p of resourcesAndProbesProblems(pod)) reportViolation(p);
  },
};
