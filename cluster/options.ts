/** What every cluster command is given: the project, the data folder, the ports, the binaries, a log. */
import { join, resolve } from "node:path";
import type { Log } from "../local/supervisor.ts";
import { toolchainPaths } from "../toolchain/paths.ts";
import { clusterLayout, clusterPorts, DEFAULT_DATA_DIR, type ClusterLayout, type ClusterPorts } from "./layout.ts";

export interface ClusterOptions {
  /** The project folder: the default data folder is `.local/cluster` in it. */
  projectDir: string;
  /** The data folder: certificates, kubeconfigs, etcd's data, logs. Default `<projectDir>/.local/cluster`. */
  dataDir?: string;
  /** Default: DEFAULT_PORTS with `POOLING_CLUSTER_*_PORT` applied. Only `up` uses them; the others read run.json. */
  ports?: ClusterPorts;
  /** Where etcd and the kube-* programs are. Default: the toolchain's bin folder. */
  binDir?: string;
  /** Progress lines. Default: none. */
  log?: Log;
  /** How long `up` waits for the API server. Default 180 s. */
  readyTimeoutMs?: number;
}

export interface Resolved {
  layout: ClusterLayout;
  ports: () => ClusterPorts;
  binDir: string;
  log: Log;
}

export function resolveOptions(o: ClusterOptions): Resolved {
  const dataDir = resolve(o.projectDir, o.dataDir ?? join(o.projectDir, DEFAULT_DATA_DIR));
  return {
    layout: clusterLayout(dataDir),
    // Lazily: a bad POOLING_CLUSTER_*_PORT must not stop `down` or `status`.
    ports: () => o.ports ?? clusterPorts(),
    binDir: o.binDir ?? toolchainPaths().bin,
    log: o.log ?? (() => undefined),
  };
}
