/**
 * Which cluster the program deploys to. `scripts/pulumi.ts` sets POOLING_CLUSTER (and the kubeconfig or
 * the render folder) to point the program at the project's own tooling; without it (a bare `pulumi up`,
 * `npm run up`) the program deploys where the stack's `pooling:cluster` says (kind unless it says otherwise;
 * ./deploy-plan.ts). The two targets below take precedence over that setting:
 *
 * - `local`: the control plane `npm run cluster` runs here (its kubeconfig in KUBECONFIG); no Docker, so
 *   no registry and no image build: the probe's image is the tag the node stands in. The node runs Debian's
 *   PostgreSQL and PgBouncer in place of the images, so POOLING_NODE_VERSIONS (set by scripts/pulumi.ts
 *   from the same stand-in table the node agent uses) puts their versions in place of the stack's: a stack
 *   asking for PgBouncer 1.24 is validated and rendered for the 1.18 that will really run it.
 * - `render`: no cluster at all: the Kubernetes provider writes every object as YAML into a folder
 *   (its `renderYamlToDirectory`), the input `npm run pods` runs.
 */
import { InputError } from "../errors.ts";

/** The versions the local cluster's node really runs, put in place of the stack's own (ParseOptions.versions). */
export interface NodeVersions {
  postgres?: string;
  pgbouncer?: string;
}

export type ClusterTarget = { kind: "stack" } | { kind: "local"; kubeconfig: string; versions: NodeVersions } | { kind: "render"; dir: string };

/** What carries the node's versions from `scripts/pulumi.ts` to the program: `postgres=15,pgbouncer=1.18`. */
export const NODE_VERSIONS_ENV = "POOLING_NODE_VERSIONS";

/**
 * POOLING_NODE_VERSIONS (`postgres=15,pgbouncer=1.18`, as pods/node/versions.ts prints it) as versions;
 * unset or empty is none: the stack's own versions are validated.
 */
export function parseNodeVersions(value: string | undefined): NodeVersions {
  const out: NodeVersions = {};
  for (const part of (value ?? "").split(",").filter((p) => p.trim() !== "")) {
    const m = /^\s*(postgres|pgbouncer)=(\d+(?:\.\d+){0,2})\s*$/.exec(part);
    if (!m) throw new ClusterTargetError(`${NODE_VERSIONS_ENV}="${value}" is not a list like postgres=15,pgbouncer=1.18 (npm run up -- --cluster local sets it from the node's stand-ins).`);
    out[m[1] as keyof NodeVersions] = m[2];
  }
  return out;
}

/** POOLING_CLUSTER's values; unset is `stack`, the cluster `pooling:cluster` names. */
export const CLUSTER_TARGETS = ["stack", "local", "render"] as const;

/** POOLING_CLUSTER or the variable it needs is missing or wrong. */
export class ClusterTargetError extends InputError {
  readonly code = "POOLING_CLUSTER_TARGET";
}

export function clusterTarget(env: NodeJS.ProcessEnv): ClusterTarget {
  const kind = env.POOLING_CLUSTER ?? "stack";
  switch (kind) {
    case "stack":
      return { kind };
    case "local":
      if (!env.KUBECONFIG) throw new ClusterTargetError("POOLING_CLUSTER=local needs KUBECONFIG set to the local cluster's kubeconfig (npm run up -- --cluster local sets it).");
      return { kind, kubeconfig: env.KUBECONFIG, versions: parseNodeVersions(env[NODE_VERSIONS_ENV]) };
    case "render":
      if (!env.POOLING_RENDER_DIR) throw new ClusterTargetError("POOLING_CLUSTER=render needs POOLING_RENDER_DIR, the folder the manifests are written to.");
      return { kind, dir: env.POOLING_RENDER_DIR };
    default:
      throw new ClusterTargetError(`POOLING_CLUSTER=${kind} is not a cluster target; use one of ${CLUSTER_TARGETS.join(", ")}.`);
  }
}
