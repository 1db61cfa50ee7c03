/**
 * What Kubernetes fills in for fields a manifest leaves out, computed as its controllers compute it, for
 * every reader of manifests (the policy pack, the pod runner's checks) to read them the same way.
 */

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Pods a rollout runs above `replicas`, and how that number was found, for the message. */
export interface RolloutSurge {
  pods: number;
  detail: string;
}

/** Kubernetes' default for an absent `rollingUpdate.maxSurge` (apps/v1 Deployment defaulting). */
const DEFAULT_MAX_SURGE = "25%";

/**
 * The surge a Deployment's strategy allows, as Kubernetes computes it: Recreate stops every old pod
 * first (no surge); RollingUpdate, the default type, takes `maxSurge` as a whole number or as a
 * percentage of `replicas` rounded up (intstr.GetScaledValueFromIntOrPercent with roundUp, as the
 * deployment controller calls it), 25% when absent. A string that is neither is an error, as the API
 * server would refuse it.
 */
export function rolloutSurge(spec: unknown, replicas: number): RolloutSurge | { error: string } {
  const strategy = isRecord(spec) && isRecord(spec.strategy) ? spec.strategy : {};
  const type = strategy.type ?? "RollingUpdate";
  if (type === "Recreate") return { pods: 0, detail: "strategy Recreate: no surge" };
  if (type !== "RollingUpdate") return { error: `spec.strategy.type ${JSON.stringify(type)} is neither RollingUpdate nor Recreate` };
  const given = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate.maxSurge : undefined;
  const maxSurge = given ?? DEFAULT_MAX_SURGE;
  const source = given === undefined ? "maxSurge absent, so Kubernetes' default 25%" : `maxSurge ${JSON.stringify(maxSurge)}`;
  if (typeof maxSurge === "number" && Number.isInteger(maxSurge) && maxSurge >= 0) {
    return { pods: maxSurge, detail: `maxSurge ${maxSurge}` };
  }
  const percent = typeof maxSurge === "string" ? /^(\d+)%$/.exec(maxSurge) : null;
  if (percent?.[1] !== undefined) {
    const pods = Math.ceil((Number(percent[1]) * replicas) / 100);
    return { pods, detail: `${source} of ${replicas} replicas, rounded up` };
  }
  return { error: `spec.strategy.rollingUpdate.maxSurge ${JSON.stringify(maxSurge)} is neither a whole number nor a percentage` };
}
