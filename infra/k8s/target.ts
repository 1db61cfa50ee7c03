/**
 * Which cluster the program deploys to. `scripts/pulumi.ts` sets POOLING_CLUSTER (and the kubeconfig or
 * the render folder); a bare `pulumi preview` without it gets kind, as before.
 *
 * - `kind`: the kind cluster's context, the probe image built by Docker and pushed to kind's registry.
 * - `local`: the control plane `npm run cluster` runs here (its kubeconfig in KUBECONFIG); no Docker, so
 *   no registry and no image build: the probe's image is the tag the node stands in.
 * - `render`: no cluster at all: the Kubernetes provider writes every object as YAML into a folder
 *   (its `renderYamlToDirectory`), the input `npm run pods` runs.
 */
import { InputError } from "../errors.ts";

export type ClusterTarget = { kind: "kind" } | { kind: "local"; kubeconfig: string } | { kind: "render"; dir: string };

export const CLUSTER_TARGETS = ["kind", "local", "render"] as const;

/** POOLING_CLUSTER or the variable it needs is missing or wrong. */
export class ClusterTargetError extends InputError {
  readonly code = "POOLING_CLUSTER_TARGET";
}

export function clusterTarget(env: NodeJS.ProcessEnv): ClusterTarget {
  const kind = env.POOLING_CLUSTER ?? "kind";
  switch (kind) {
    case "kind":
      return { kind };
    case "local":
      if (!env.KUBECONFIG) throw new ClusterTargetError("POOLING_CLUSTER=local needs KUBECONFIG set to the local cluster's kubeconfig (npm run up -- --cluster local sets it).");
      return { kind, kubeconfig: env.KUBECONFIG };
    case "render":
      if (!env.POOLING_RENDER_DIR) throw new ClusterTargetError("POOLING_CLUSTER=render needs POOLING_RENDER_DIR, the folder the manifests are written to.");
      return { kind, dir: env.POOLING_RENDER_DIR };
    default:
      throw new ClusterTargetError(`POOLING_CLUSTER=${kind} is not a cluster target; use one of ${CLUSTER_TARGETS.join(", ")}.`);
  }
}
