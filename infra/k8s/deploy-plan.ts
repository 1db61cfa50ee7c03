/**
 * What the program deploys where: the Kubernetes provider's arguments, where the probe's image comes from
 * and the kubectl command the stack outputs. Picked from the environment's target (./target.ts), which
 * the project's own tooling sets and which wins, and otherwise from the stack's `pooling:cluster`. Pure,
 * so each choice is tested without the engine; infra/index.ts only turns the plan into resources.
 *
 * Everything kind-specific (its context, its registry) is read from ./kind.ts here and nowhere else in the
 * program.
 */
import type * as k8s from "@pulumi/kubernetes";
import { registryServer, type ClusterSetting, type StackConfig } from "../config/index.ts";
import { KIND, registryHost } from "./kind.ts";
import { probeImageName } from "./manifests/common.ts";
import type { ClusterTarget } from "./target.ts";

/** How the probe's image reaches the cluster. */
export type ProbeImagePlan =
  /**
   * Built by Docker from app-probe/ and pushed as `imageName`; the push logs in to `registryServer` with
   * Docker's own credentials. `kindRegistry`: the registry is kind's local one, which the program runs.
   */
  | { source: "build"; imageName: string; registryServer: string; kindRegistry: boolean }
  /** Used as is: a prebuilt image, or the name the local node (or the pod runner) stands in. */
  | { source: "image"; image: string };

export interface DeployPlan {
  provider: k8s.ProviderArgs;
  probe: ProbeImagePlan;
  /** kubectl with what selects the cluster, for the port-forward command in the stack outputs. */
  kubectl: string;
}

// ConfigMaps and Secrets are updated in place rather than replaced: the pods mount them by name, and a
// changed pool size must reach PgBouncer through the mounted file and RELOAD, not through a new pod.
const MUTABLE = { enableConfigMapMutable: true, enableSecretMutable: true } as const;

export function deployPlan(target: ClusterTarget, cfg: StackConfig): DeployPlan {
  switch (target.kind) {
    case "local":
      return { provider: { ...MUTABLE, kubeconfig: target.kubeconfig }, probe: standInProbe(cfg), kubectl: `kubectl --kubeconfig ${target.kubeconfig}` };
    case "render":
      return { provider: { ...MUTABLE, renderYamlToDirectory: target.dir }, probe: standInProbe(cfg), kubectl: "kubectl" };
    case "stack": {
      const context = clusterContext(cfg.cluster);
      // Pinned to the context: a bare `pulumi preview` or `up` must not land on whatever context kubectl
      // has current.
      return { provider: { ...MUTABLE, context }, probe: stackProbe(cfg), kubectl: `kubectl --context ${context}` };
    }
  }
}

/** The kubeconfig context `pooling:cluster` pins: its own, or for kind the kind cluster's. */
export function clusterContext(cluster: ClusterSetting): string {
  return cluster.context ?? KIND.context;
}

/**
 * Where the probe's image comes from on the stack's own cluster, as `pooling:cluster` says: a prebuilt
 * image, or a build pushed to its registry (for kind by default, kind's local registry). The render CLI
 * writes this image into the manifests too, so they are what `pulumi up` applies.
 */
export function stackProbe(cfg: StackConfig): ProbeImagePlan {
  const probe = cfg.cluster.probe;
  if ("image" in probe) return { source: "image", image: probe.image };
  const registry = probe.registry ?? registryHost();
  return { source: "build", imageName: probeImageName(registry, cfg), registryServer: registryServer(registry), kindRegistry: registry === registryHost() };
}

/**
 * The probe on the local cluster and in rendered folders: no Docker builds it, the node agent and the pod
 * runner stand it in by its repository (`*\/pooling-probe`, pods/standin-table.ts), whatever the registry.
 * The name stays the one these targets always used, so their manifests do not change with `pooling:cluster`.
 */
function standInProbe(cfg: StackConfig): ProbeImagePlan {
  return { source: "image", image: probeImageName(registryHost(), cfg) };
}
