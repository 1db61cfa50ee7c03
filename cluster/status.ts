/** Whether the API server of a data folder answers: GET /readyz and /version with the admin client certificate. */
import { existsSync } from "node:fs";
import { apiserverVersion, get, tlsClient } from "./http.ts";
import { kubeconfigServer } from "./kubeconfig.ts";
import type { ClusterLayout } from "./layout.ts";
import { pkiFiles } from "./pki.ts";
import { liveRun } from "./run-file.ts";

export interface ClusterStatus {
  ready: boolean;
  /** https://127.0.0.1:PORT, from the kubeconfig; undefined before the first `up`. */
  server: string | undefined;
  /** The API server's gitVersion, when it answered. */
  version: string | undefined;
  /** Why it is not ready, in a few words. */
  reason: string | undefined;
}

export async function clusterReadiness(l: ClusterLayout): Promise<ClusterStatus> {
  const server = kubeconfigServer(l.kubeconfig);
  const pki = pkiFiles(l.pkiDir);
  if (server === undefined || !existsSync(pki.admin.key)) return { ready: false, server, version: undefined, reason: `no cluster was started in ${l.dataDir}` };
  try {
    const tls = tlsClient(pki.ca, pki.admin);
    const readyz = await get(`${server}/readyz`, tls);
    if (readyz.status !== 200) return { ready: false, server, version: undefined, reason: `${server}/readyz answered ${readyz.status}` };
    return { ready: true, server, version: await apiserverVersion(server, tls), reason: undefined };
  } catch (err) {
    const why = liveRun(l) ? (err as Error).message : "it is not running (`npm run cluster -- up` starts it)";
    return { ready: false, server, version: undefined, reason: why };
  }
}
