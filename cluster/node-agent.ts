/**
 * The node agent (pods/node/) as the daemon's last component: started once the API server is ready, so
 * its informers list at once, and stopped first, so the pods end while the API server still takes their
 * status. It runs pods in Linux namespaces with nftables, so only as root; without root (or with
 * POOLING_CLUSTER_NODE_AGENT=0, for tests that want a cluster without a node) the cluster runs without
 * a node and `up` says why.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { get, type TlsClient } from "./http.ts";

/** The name the agent registers; kind's single node has one too. */
export const NODE_NAME = "pooling-node";

/** The agent's own stop: every pod's termination grace (PostgreSQL's is the longest) plus a margin. */
export const NODE_AGENT_STOP_MS = 150_000;

const PROJECT_DIR = join(fileURLToPath(new URL(".", import.meta.url)), "..");

/** Why the cluster runs without a node, or undefined when the agent is to start. */
export function nodeAgentSkipped(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): string | undefined {
  if (env.POOLING_CLUSTER_NODE_AGENT === "0") return "POOLING_CLUSTER_NODE_AGENT=0";
  if (uid !== 0) return "the node agent runs pods in Linux namespaces and needs root; pods stay Pending";
  return undefined;
}

/** The agent's command line: the same Node.js and tsx as the daemon, its folder under the cluster's data folder. */
export function nodeAgentCommand(kubeconfig: string, dataDir: string, serviceRange: string): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: ["--import", "tsx", join(PROJECT_DIR, "pods", "node", "main.ts"), "--kubeconfig", kubeconfig, "--run-dir", join(dataDir, "node"), "--node-name", NODE_NAME, "--service-cidr", serviceRange],
  };
}

/**
 * Ready once this start of the agent renewed the node's Lease: a Node (and Lease) an earlier run left in
 * etcd answers at once, so their mere presence says nothing about the agent just started.
 */
export async function leaseRenewedSince(server: string, tls: TlsClient, since: number, signal?: AbortSignal): Promise<void> {
  const url = `${server}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE_NAME}`;
  const { status, body } = await get(url, tls, signal);
  if (status !== 200) throw new Error(`${url} answered ${status}`);
  const renewed = Date.parse((JSON.parse(body) as { spec?: { renewTime?: string } }).spec?.renewTime ?? "");
  // renewTime has microseconds; the agent's clock is this machine's, as is `since`.
  if (!(renewed >= since - 1_000)) throw new Error(`the lease of ${NODE_NAME} was last renewed before this start`);
}
