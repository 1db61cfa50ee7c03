/**
 * The local control plane: etcd, kube-apiserver and, when built, kube-controller-manager and
 * kube-scheduler, on loopback, supervised by a daemon. What other code needs from it.
 */
import type { Log } from "../local/supervisor.ts";
import type { ClusterOptions } from "./options.ts";
import { clusterUp, type ClusterInfo } from "./up.ts";

export { clusterKubeconfigPath, clusterPorts, DEFAULT_DATA_DIR, DEFAULT_PORTS, PORT_ENV, type ClusterPorts } from "./layout.ts";
export { clusterUp, type ClusterInfo } from "./up.ts";
export { clusterDown, type DownResult } from "./down.ts";
export { clusterReadiness, type ClusterStatus } from "./status.ts";
export type { ClusterOptions } from "./options.ts";

/**
 * Starts the project's cluster unless it runs, and resolves once its API server is ready; the kubeconfig
 * is then at clusterKubeconfigPath(projectDir).
 */
export function ensureClusterUp(projectDir: string, log: Log, options: Omit<ClusterOptions, "projectDir" | "log"> = {}): Promise<ClusterInfo> {
  return clusterUp({ ...options, projectDir, log });
}
