/**
 * The Deployment controller's arithmetic, as pure functions: pod-template-hash and generated pod names
 * (pkg/controller/controller_utils.go ComputeHash, apimachinery rand.SafeEncodeString and the name
 * generator), maxSurge/maxUnavailable resolution (pkg/controller/deployment/util ResolveFenceposts) and one
 * step of a rolling update (pkg/controller/deployment/rolling.go reconcileNewReplicaSet and
 * reconcileOldReplicaSets).
 */
import { randomInt } from "node:crypto";

/** apimachinery/pkg/util/rand: no vowels, no look-alike digits, so a generated name never spells a word. */
const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

export function safeEncodeString(s: string): string {
  return [...Buffer.from(s)].map((b) => ALPHANUMS[b % ALPHANUMS.length]).join("");
}

/** The generated part of a pod name: five characters from the same alphabet. */
export function randomSuffix(n = 5): string {
  return Array.from({ length: n }, () => ALPHANUMS[randomInt(ALPHANUMS.length)]).join("");
}

function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** JSON with keys sorted, so equal templates hash equally whatever their key order. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * pod-template-hash: FNV-32a of the template, its decimal form SafeEncoded, as ComputeHash does. The
 * kubelet hashes Go's spew dump of the struct; this hashes sorted JSON, so values differ from a cluster's,
 * but a template change changes the hash just the same.
 */
export function templateHash(template: unknown, collisionCount = 0): string {
  const suffix = collisionCount ? `#${collisionCount}` : "";
  return safeEncodeString(String(fnv32a(stableJson(template) + suffix)));
}

/** The deployment controller's fenceposts, as every reader of manifests resolves them (lib/kubernetes.ts). */
export { resolveFenceposts, scaledValue } from "../lib/kubernetes.ts";

export interface RolloutState {
  replicas: number;
  surge: number;
  unavailable: number;
  /** Pods of the new template, not terminating; and how many of them are ready. */
  newPods: number;
  newReady: number;
  /** Pods of older templates, not terminating; and how many of them are ready. */
  oldPods: number;
  oldReady: number;
}

/** How many new pods to create and old pods to delete now. Unready old pods go first (issue #16737). */
export function rollingStep(s: RolloutState): { up: number; down: number; downUnready: number } {
  const maxTotal = s.replicas + s.surge;
  const up = Math.max(0, Math.min(maxTotal - (s.newPods + s.oldPods), s.replicas - s.newPods));
  const newPods = s.newPods + up;
  const minAvailable = s.replicas - s.unavailable;
  const newUnavailable = newPods - s.newReady;
  const maxScaledDown = s.oldPods + newPods - minAvailable - newUnavailable;
  if (s.oldPods === 0 || maxScaledDown <= 0) return { up, down: 0, downUnready: 0 };
  const downUnready = Math.min(s.oldPods - s.oldReady, maxScaledDown);
  const available = s.oldReady + s.newReady;
  const downReady = Math.max(0, Math.min(s.oldReady, available - minAvailable));
  return { up, down: downUnready + downReady, downUnready };
}
