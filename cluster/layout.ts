/**
 * Where the local control plane keeps its files and which loopback ports it listens on. Everything lives
 * in one data folder (default `.local/cluster`, git-ignored), so `down --purge` is one `rm -r` and a test
 * gets a cluster of its own by passing another folder and other ports.
 */
import { join } from "node:path";
import { ClusterPortError } from "./errors.ts";

/** The data folder's default, relative to the project: the documented home of the kubeconfig. */
export const DEFAULT_DATA_DIR = join(".local", "cluster");

export interface ClusterLayout {
  dataDir: string;
  /** CA, serving, client and service-account keys: the folder 0700, every file 0600. */
  pkiDir: string;
  /** etcd's --data-dir (0700: etcd itself refuses looser permissions on start and tightens them). */
  etcdDir: string;
  logDir: string;
  /** The admin kubeconfig (CN admin, O system:masters), 0600. */
  kubeconfig: string;
  controllerManagerKubeconfig: string;
  schedulerKubeconfig: string;
  /** Which daemon and which servers run on this folder: pid and start time of each. */
  runFile: string;
  daemonLog: string;
  /** The Service range the first `up` chose (cluster/service-range.ts). */
  serviceRangeFile: string;
}

export function clusterLayout(dataDir: string): ClusterLayout {
  return {
    dataDir,
    pkiDir: join(dataDir, "pki"),
    etcdDir: join(dataDir, "etcd"),
    logDir: join(dataDir, "logs"),
    kubeconfig: join(dataDir, "kubeconfig"),
    controllerManagerKubeconfig: join(dataDir, "pki", "controller-manager.kubeconfig"),
    schedulerKubeconfig: join(dataDir, "pki", "scheduler.kubeconfig"),
    runFile: join(dataDir, "run.json"),
    serviceRangeFile: join(dataDir, "service-range"),
    daemonLog: join(dataDir, "logs", "daemon.log"),
  };
}

/** The admin kubeconfig of the project's cluster: `<projectDir>/.local/cluster/kubeconfig`. */
export function clusterKubeconfigPath(projectDir: string, dataDir?: string): string {
  return clusterLayout(dataDir ?? join(projectDir, DEFAULT_DATA_DIR)).kubeconfig;
}

/** Every port the control plane listens on, all on 127.0.0.1. */
export interface ClusterPorts {
  apiserver: number;
  etcdClient: number;
  etcdPeer: number;
  controllerManager: number;
  scheduler: number;
}

/**
 * Fixed defaults, so the kubeconfig (and a Pulumi stack that stored it) stays valid across runs. They sit
 * away from the components' upstream defaults (6443, 2379/2380, 10257, 10259) so a kind cluster or a
 * real etcd on this machine does not collide with ours.
 */
export const DEFAULT_PORTS: Readonly<ClusterPorts> = { apiserver: 16443, etcdClient: 12379, etcdPeer: 12380, controllerManager: 16257, scheduler: 16259 };

/** The environment variable that overrides each port. */
export const PORT_ENV: Readonly<Record<keyof ClusterPorts, string>> = {
  apiserver: "POOLING_CLUSTER_APISERVER_PORT",
  etcdClient: "POOLING_CLUSTER_ETCD_PORT",
  etcdPeer: "POOLING_CLUSTER_ETCD_PEER_PORT",
  controllerManager: "POOLING_CLUSTER_CONTROLLER_MANAGER_PORT",
  scheduler: "POOLING_CLUSTER_SCHEDULER_PORT",
};

/** The defaults with any `POOLING_CLUSTER_*_PORT` applied; a value that is not a port is a ClusterPortError. */
export function clusterPorts(env: NodeJS.ProcessEnv = process.env): ClusterPorts {
  const out = { ...DEFAULT_PORTS };
  for (const key of Object.keys(PORT_ENV) as (keyof ClusterPorts)[]) {
    const raw = env[PORT_ENV[key]];
    if (raw === undefined || raw === "") continue;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ClusterPortError(`${PORT_ENV[key]}=${raw} is not a port: give a whole number from 1 to 65535, or unset it for ${DEFAULT_PORTS[key]}`);
    out[key] = port;
  }
  const seen = new Map<number, string>();
  for (const key of Object.keys(out) as (keyof ClusterPorts)[]) {
    const other = seen.get(out[key]);
    if (other !== undefined) throw new ClusterPortError(`${PORT_ENV[key]} and ${other} are both ${out[key]}: every control-plane port must differ`);
    seen.set(out[key], PORT_ENV[key]);
  }
  return out;
}
