/**
 * The control plane's certificates and keys, made with @peculiar/x509 over Node's webcrypto (no openssl).
 * One CA signs the API server's serving certificate and every client certificate, as kubeadm's `ca` does;
 * controller-runtime's envtest makes a CA per purpose (controlplane/apiserver.go, auth.go), which buys
 * nothing on loopback. Who a client is comes from its certificate: the API server maps CN to the user and
 * each O to a group (x509 request authenticator, k8s.io/apiserver pkg/authentication/request/x509).
 *
 * Made once per data folder and kept: a kubeconfig handed out (or stored in a Pulumi stack) stays valid
 * across `down`/`up`, and tokens signed with the service-account key stay verifiable.
 */
import { X509Certificate as NodeX509 } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { JsonName } from "@peculiar/x509";
import { createCa, generateKeys, issueLeaf, privatePem, publicPem } from "../lib/pki.ts";
import { writeAtomic } from "../local/files.ts";
import { ClusterPkiError } from "./errors.ts";

const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
const LEAF_DAYS = 365;
/** A certificate this close to its end is made again at the next `up`, with the whole set. */
const RENEW_BEFORE_DAYS = 30;

/** A certificate and its key, both as files in the PKI folder. */
export interface CertFiles {
  cert: string;
  key: string;
}

export interface ClusterPki {
  ca: CertFiles;
  /** The serving certificate of every loopback server: SANs 127.0.0.1 and localhost. */
  serving: CertFiles;
  /** CN admin, O system:masters: bound to cluster-admin by the API server's bootstrap RBAC policy. */
  admin: CertFiles;
  /**
   * CN system:kube-controller-manager: the user the bootstrap ClusterRoleBinding of that name binds
   * (k8s.io/kubernetes v1.37.2 plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go).
   */
  controllerManager: CertFiles;
  /** CN system:kube-scheduler: likewise bound to the bootstrap ClusterRoles system:kube-scheduler and system:volume-scheduler. */
  scheduler: CertFiles;
  /** The service-account signing key (private, PKCS#8) and its public half (SPKI), for the API server and the token controller. */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

export function pkiFiles(pkiDir: string): ClusterPki {
  const pair = (name: string): CertFiles => ({ cert: join(pkiDir, `${name}.crt`), key: join(pkiDir, `${name}.key`) });
  return {
    ca: pair("ca"),
    serving: pair("serving"),
    admin: pair("admin"),
    controllerManager: pair("controller-manager"),
    scheduler: pair("scheduler"),
    serviceAccountKey: join(pkiDir, "sa.key"),
    serviceAccountPub: join(pkiDir, "sa.pub"),
  };
}

interface Leaf {
  name: keyof Omit<ClusterPki, "ca" | "serviceAccountKey" | "serviceAccountPub">;
  subject: JsonName;
  usage: "server" | "client";
}

const LEAVES: readonly Leaf[] = [
  { name: "serving", subject: [{ CN: ["pooling-cluster-serving"] }], usage: "server" },
  { name: "admin", subject: [{ O: ["system:masters"] }, { CN: ["admin"] }], usage: "client" },
  { name: "controllerManager", subject: [{ CN: ["system:kube-controller-manager"] }], usage: "client" },
  { name: "scheduler", subject: [{ CN: ["system:kube-scheduler"] }], usage: "client" },
];

const secret = (file: string, text: string) => writeAtomic(file, text.endsWith("\n") ? text : `${text}\n`, { secret: true });

/** Whether every certificate is there, signed by the CA there, and good for longer than the renewal margin. */
function isUsable(files: ClusterPki, now: Date): boolean {
  const pairs = [files.ca, ...LEAVES.map((l) => files[l.name])];
  if (![...pairs.flatMap((p) => [p.cert, p.key]), files.serviceAccountKey, files.serviceAccountPub].every((f) => existsSync(f))) return false;
  try {
    const ca = new NodeX509(readFileSync(files.ca.cert));
    const horizon = now.getTime() + RENEW_BEFORE_DAYS * DAY_MS;
    return pairs.every((p) => {
      const cert = new NodeX509(readFileSync(p.cert));
      return new Date(cert.validTo).getTime() > horizon && cert.checkIssued(ca) && cert.verify(ca.publicKey);
    });
  } catch (err) {
    throw new ClusterPkiError(files.ca.cert, `a certificate there does not parse (${(err as Error).message})`, { cause: err });
  }
}

/**
 * The data folder's PKI, made when missing or near its end. The service-account key survives a renewal:
 * tokens the API server signed before stay valid.
 */
export async function ensurePki(pkiDir: string, now = new Date()): Promise<{ files: ClusterPki; made: boolean }> {
  const files = pkiFiles(pkiDir);
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  if (isUsable(files, now)) return { files, made: false };
  const ca = await createCa({ subject: [{ CN: ["pooling-cluster-ca"] }], lifetimeMs: CA_DAYS * DAY_MS, now });
  secret(files.ca.cert, ca.cert.toString("pem"));
  secret(files.ca.key, await privatePem(ca.keys.privateKey));
  for (const leaf of LEAVES) {
    const made = await issueLeaf(ca, {
      subject: leaf.subject,
      usage: leaf.usage,
      ...(leaf.usage === "server" ? { ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"] } : {}),
      lifetimeMs: LEAF_DAYS * DAY_MS,
      now,
    });
    secret(files[leaf.name].key, made.key);
    secret(files[leaf.name].cert, made.cert);
  }
  if (!existsSync(files.serviceAccountKey) || !existsSync(files.serviceAccountPub)) {
    const sa = await generateKeys();
    secret(files.serviceAccountKey, await privatePem(sa.privateKey));
    secret(files.serviceAccountPub, await publicPem(sa.publicKey));
  }
  return { files, made: true };
}
