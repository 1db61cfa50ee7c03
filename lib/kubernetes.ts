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
 * An IntOrString as intstr.GetScaledValueFromIntOrPercent reads it: a whole number as it is, "N%" as N%
 * of `total`, rounded up (maxSurge) or down (maxUnavailable); `dflt` when absent. Anything else (a plain
 * numeric string included: "string is not a percentage") is a RangeError.
 */
export function scaledValue(v: unknown, total: number, roundUp: boolean, dflt: string = DEFAULT_FENCEPOST): number {
  const value = v ?? dflt;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  const percent = typeof value === "string" ? /^(\d+)%$/.exec(value) : null;
  if (percent?.[1] === undefined) throw new RangeError(`${JSON.stringify(value)} is neither a whole number nor a percentage`);
  const exact = (Number(percent[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** ResolveFenceposts (pkg/controller/deployment/util): defaults 25%/25%; both zero would stall, so unavailability becomes 1. */
export function resolveFenceposts(maxSurge: unknown, maxUnavailable: unknown, replicas: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, replicas, true);
  const unavailable = scaledValue(maxUnavailable, replicas, false);
  return { surge, unavailable: surge === 0 && unavailable === 0 ? 1 : unavailable };
}

/** One fencepost with how it was found, for a policy message; an invalid value is an error, not a throw. */
function fencepost(rollingUpdate: Record<string, unknown>, field: "maxSurge" | "maxUnavailable", replicas: number, roundUp: boolean): { n: number; detail: string } | { error: string } {
  const given = rollingUpdate[field];
  let n: number;
  try {
    n = scaledValue(given, replicas, roundUp);
  } catch (err) {
    return { error: `spec.strategy.rollingUpdate.${field} ${(err as Error).message}` };
  }
  if (typeof given === "number") return { n, detail: `${field} ${given}` };
  const source = given === undefined ? `${field} absent, so Kubernetes' default 25%` : `${field} ${JSON.stringify(given)}`;
  return { n, detail: `${source} of ${replicas} replicas, rounded ${roundUp ? "up" : "down"}` };
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
