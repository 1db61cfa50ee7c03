/** Kubeconfig files for the admin and the control-plane components: certificates embedded, mode 0600. */
import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { writeAtomic } from "../local/files.ts";
import type { CertFiles } from "./pki.ts";

export interface KubeconfigInput {
  /** https://127.0.0.1:PORT */
  server: string;
  /** Name of the cluster, user and context entries. */
  name: string;
  user: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/**
 * A kubeconfig with one cluster, one user and one context, everything embedded (`*-data` fields), so the
 * file can be copied or stored alone. The shape is client-go's clientcmd v1 Config (k8s.io/client-go
 * tools/clientcmd/api/v1/types.go), which kubectl and @kubernetes/client-node read alike.
 */
export function kubeconfigText(k: KubeconfigInput): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: k.name, cluster: { server: k.server, "certificate-authority-data": b64(k.caPem) } }],
    users: [{ name: k.user, user: { "client-certificate-data": b64(k.certPem), "client-key-data": b64(k.keyPem) } }],
    contexts: [{ name: k.name, context: { cluster: k.name, user: k.user } }],
    "current-context": k.name,
    preferences: {},
  });
}

export function writeKubeconfig(file: string, server: string, name: string, user: string, ca: CertFiles, client: CertFiles): void {
  const text = kubeconfigText({
    server,
    name,
    user,
    caPem: readFileSync(ca.cert, "utf8"),
    certPem: readFileSync(client.cert, "utf8"),
    keyPem: readFileSync(client.key, "utf8"),
  });
  writeAtomic(file, text, { secret: true });
}

/** The `server:` of a kubeconfig this module wrote, or undefined when there is none to read. */
export function kubeconfigServer(file: string): string | undefined {
  try {
    const config = parse(readFileSync(file, "utf8")) as { clusters?: { cluster?: { server?: string } }[] } | null;
    return config?.clusters?.[0]?.cluster?.server;
  } catch {
    return undefined;
  }
}
