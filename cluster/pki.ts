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
import { X509Certificate as NodeX509, webcrypto } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
// @peculiar/x509 2.x resolves its parts through tsyringe, which needs the Reflect metadata API loaded
// first (the package README, "Reflect Polyfill Required").
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { writeAtomic } from "../local/files.ts";
import { ClusterPkiError } from "./errors.ts";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** ECDSA P-256: accepted by Go's TLS stack and by the API server for service-account signing (ES256). */
const KEY_ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
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
  subject: x509.JsonName;
  usage: "server" | "client";
}

const LEAVES: readonly Leaf[] = [
  { name: "serving", subject: [{ CN: ["pooling-cluster-serving"] }], usage: "server" },
  { name: "admin", subject: [{ O: ["system:masters"] }, { CN: ["admin"] }], usage: "client" },
  { name: "controllerManager", subject: [{ CN: ["system:kube-controller-manager"] }], usage: "client" },
  { name: "scheduler", subject: [{ CN: ["system:kube-scheduler"] }], usage: "client" },
];

type KeyPair = webcrypto.CryptoKeyPair;

const generateKeys = () => webcrypto.subtle.generateKey(KEY_ALG, true, ["sign", "verify"]) as Promise<KeyPair>;

async function privatePem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

async function publicPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("spki", key), "PUBLIC KEY");
}

function validity(days: number, now: Date) {
  // A minute back: a clock a little behind ours must not see a certificate from the future.
  return { notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

async function makeCa(now: Date): Promise<{ cert: x509.X509Certificate; keys: KeyPair }> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: ["pooling-cluster-ca"] }],
    keys,
    signingAlgorithm: KEY_ALG,
    ...validity(CA_DAYS, now),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function issue(ca: { cert: x509.X509Certificate; keys: KeyPair }, leaf: Leaf, now: Date): Promise<{ cert: string; key: string }> {
  const keys = await generateKeys();
  const server = leaf.usage === "server";
  const cert = await x509.X509CertificateGenerator.create({
    subject: leaf.subject,
    issuer: ca.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: KEY_ALG,
    ...validity(LEAF_DAYS, now),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
      ...(server
        ? [
            new x509.SubjectAlternativeNameExtension([
              { type: "ip", value: "127.0.0.1" },
              { type: "dns", value: "localhost" },
            ]),
          ]
        : []),
    ],
  });
  return { cert: cert.toString("pem"), key: await privatePem(keys.privateKey) };
}

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
  const ca = await makeCa(now);
  secret(files.ca.cert, ca.cert.toString("pem"));
  secret(files.ca.key, await privatePem(ca.keys.privateKey));
  for (const leaf of LEAVES) {
    const made = await issue(ca, leaf, now);
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
