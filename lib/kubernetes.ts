/**
 * What Kubernetes fills in for fields a manifest leaves out, computed as its controllers compute it, for
 * every reader of manifests (the policy pack, the pod runner's checks) to read them the same way.
 */

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Pods holding server connections above `replicas` at a rollout's peak, and how that number was found, for the message. */
export interface RolloutSurge {
  pods: number;
  detail: string;
}

/** Kubernetes' default for an absent `rollingUpdate.maxSurge` and `maxUnavailable` (apps/v1 Deployment defaulting). */
const DEFAULT_FENCEPOST = "25%";

/**
 * One fencepost as the deployment controller resolves it: a whole number as it is, a percentage of
 * `replicas` rounded up for maxSurge and down for maxUnavailable (intstr.GetScaledValueFromIntOrPercent
 * in pkg/controller/deployment/util ResolveFenceposts), 25% when absent.
 */
function fencepost(rollingUpdate: Record<string, unknown>, field: "maxSurge" | "maxUnavailable", replicas: number, roundUp: boolean): { n: number; detail: string } | { error: string } {
  const given = rollingUpdate[field];
  const value = given ?? DEFAULT_FENCEPOST;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return { n: value, detail: `${field} ${value}` };
  const percent = typeof value === "string" ? /^(\d+)%$/.exec(value) : null;
  if (percent?.[1] !== undefined) {
    const exact = (Number(percent[1]) * replicas) / 100;
    const source = given === undefined ? `${field} absent, so Kubernetes' default 25%` : `${field} ${JSON.stringify(value)}`;
    return { n: roundUp ? Math.ceil(exact) : Math.floor(exact), detail: `${source} of ${replicas} replicas, rounded ${roundUp ? "up" : "down"}` };
  }
  return { error: `spec.strategy.rollingUpdate.${field} ${JSON.stringify(value)} is neither a whole number nor a percentage` };
}

/**
 * The pods above `replicas` that a Deployment's strategy lets hold server connections at once: Recreate
 * stops every old pod first (none); RollingUpdate, the default type, runs up to replicas + maxSurge pods
 * and, as it scales old pods down by up to maxSurge + maxUnavailable at a step, those drain beside them
 * (both zero means maxUnavailable 1, as ResolveFenceposts makes it). That assumes a step outlasts a pod's
 * drain, which the stack's Deployment ensures with minReadySeconds. A value that is neither a number nor
 * a percentage is an error, as the API server would refuse it.
 */
export function rolloutSurge(spec: unknown, replicas: number): RolloutSurge | { error: string } {
  const strategy = isRecord(spec) && isRecord(spec.strategy) ? spec.strategy : {};
  const type = strategy.type ?? "RollingUpdate";
  if (type === "Recreate") return { pods: 0, detail: "strategy Recreate: old pods stop first" };
  if (type !== "RollingUpdate") return { error: `spec.strategy.type ${JSON.stringify(type)} is neither RollingUpdate nor Recreate` };
  const rollingUpdate = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const surge = fencepost(rollingUpdate, "maxSurge", replicas, true);
  if ("error" in surge) return surge;
  const unavailable = fencepost(rollingUpdate, "maxUnavailable", replicas, false);
  if ("error" in unavailable) return unavailable;
  const down = surge.n === 0 && unavailable.n === 0 ? 1 : unavailable.n;
  return { pods: 2 * surge.n + down, detail: `${surge.detail}, ${unavailable.detail}: ${surge.n} surging and ${surge.n + down} draining` };
}
