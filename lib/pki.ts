/**
 * Certificates and keys as PEM text, made with @peculiar/x509 over Node's webcrypto (no openssl, no
 * hand-written ASN.1), and checked with Node's own X509Certificate. Domain-free: the control plane's PKI
 * (cluster/pki.ts) and the stack's TLS set (infra/render/certificates.ts) both build on it, on either target.
 */
import { createPrivateKey, X509Certificate as NodeX509, webcrypto } from "node:crypto";
// @peculiar/x509 2.x resolves its parts through tsyringe, which needs the Reflect metadata API loaded
// first (the package README, "Reflect Polyfill Required").
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { PoolingError } from "./errors.ts";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** ECDSA P-256: accepted by Go's TLS stack, OpenSSL (PostgreSQL, PgBouncer, Redis) and Node alike. */
const KEY_ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
/** A minute back: a clock a little behind ours must not see a certificate from the future. */
const BACKDATE_MS = 60_000;

/** A certificate and its private key (PKCS#8), both PEM. */
export interface PemPair {
  cert: string;
  key: string;
}

export type KeyPair = webcrypto.CryptoKeyPair;

export interface CaOptions {
  subject: x509.JsonName;
  lifetimeMs: number;
  now?: Date;
}

export interface LeafOptions {
  subject: x509.JsonName;
  /** serverAuth (a server's certificate) or clientAuth (a client's, e.g. for verify-full client checks). */
  usage: "server" | "client";
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  lifetimeMs: number;
  now?: Date;
}

export const generateKeys = () => webcrypto.subtle.generateKey(KEY_ALG, true, ["sign", "verify"]) as Promise<KeyPair>;

export async function privatePem(key: webcrypto.CryptoKey): Promise<string> {
  return withNewline(x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY"));
}

export async function publicPem(key: webcrypto.CryptoKey): Promise<string> {
  return withNewline(x509.PemConverter.encode(await webcrypto.subtle.exportKey("spki", key), "PUBLIC KEY"));
}

const withNewline = (text: string) => (text.endsWith("\n") ? text : `${text}\n`);

function validity(lifetimeMs: number, now: Date) {
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + lifetimeMs) };
}

/** A random positive serial, so two certificates of one CA never share one (RFC 5280 4.1.2.2). */
const serial = () => `01${Buffer.from(webcrypto.getRandomValues(new Uint8Array(15))).toString("hex")}`;

/** A self-signed CA whose key may sign leaves (key usage keyCertSign, path length 0). */
export async function createCa(opts: CaOptions): Promise<{ cert: x509.X509Certificate; keys: KeyPair }> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: opts.subject,
    keys,
    signingAlgorithm: KEY_ALG,
    ...validity(opts.lifetimeMs, opts.now ?? new Date()),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

/** A CA as PEM text: what is kept between runs (a file, a Pulumi Stash). */
export async function createCaPem(opts: CaOptions): Promise<PemPair> {
  const ca = await createCa(opts);
  return { cert: withNewline(ca.cert.toString("pem")), key: await privatePem(ca.keys.privateKey) };
}

/** A CA read back from its PEM text, ready to sign. */
export async function loadCa(ca: PemPair): Promise<{ cert: x509.X509Certificate; keys: Pick<KeyPair, "privateKey" | "publicKey"> }> {
  const cert = new x509.X509Certificate(ca.cert);
  const privateKey = await webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(ca.key), KEY_ALG, true, ["sign"]);
  return { cert, keys: { privateKey, publicKey: await cert.publicKey.export(KEY_ALG, ["verify"]) } };
}

/** A leaf signed by `ca`, with its own fresh key. */
export async function issueLeaf(ca: { cert: x509.X509Certificate; keys: Pick<KeyPair, "privateKey" | "publicKey"> }, opts: LeafOptions): Promise<PemPair> {
  const keys = await generateKeys();
  const sans = [...(opts.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })), ...(opts.dnsNames ?? []).map((value) => ({ type: "dns" as const, value }))];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: opts.subject,
    issuer: ca.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: KEY_ALG,
    ...validity(opts.lifetimeMs, opts.now ?? new Date()),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([opts.usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
      ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
    ],
  });
  return { cert: withNewline(cert.toString("pem")), key: await privatePem(keys.privateKey) };
}

/** A certificate, a key or a CA that must not be installed: why is in `code`. */
export class CertificateError extends PoolingError {
  constructor(
    readonly code: "POOLING_TLS_CERT_UNREADABLE" | "POOLING_TLS_CERT_EXPIRED" | "POOLING_TLS_CERT_NOT_YET_VALID" | "POOLING_TLS_KEY_MISMATCH" | "POOLING_TLS_WRONG_ISSUER",
    readonly what: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${what}: ${message}`, options);
  }
}

/** When a certificate stops being valid. */
export function notAfterOf(certPem: string): Date {
  return new Date(new NodeX509(certPem).validTo);
}

/**
 * Refuses a pair that a server would either refuse to load or serve to no avail: unreadable, expired (or
 * not yet valid), a key that is not the certificate's, or not issued by `caPem`. `what` names the pair in
 * the message (e.g. "the pgbouncer certificate").
 */
export function checkPair(pair: PemPair, caPem: string, what: string, now = new Date()): { notAfter: Date } {
  let cert: NodeX509;
  let ca: NodeX509;
  try {
    cert = new NodeX509(pair.cert);
    ca = new NodeX509(caPem);
  } catch (err) {
    throw new CertificateError("POOLING_TLS_CERT_UNREADABLE", what, `the certificate does not parse (${(err as Error).message})`, { cause: err });
  }
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw new CertificateError("POOLING_TLS_CERT_EXPIRED", what, `expired at ${notAfter.toISOString()}; a server would refuse every handshake with it. Nothing was installed or reloaded`);
  }
  if (notBefore.getTime() > now.getTime()) {
    throw new CertificateError("POOLING_TLS_CERT_NOT_YET_VALID", what, `not valid before ${notBefore.toISOString()}; check the clock. Nothing was installed or reloaded`);
  }
  let key;
  try {
    key = createPrivateKey(pair.key);
  } catch (err) {
    throw new CertificateError("POOLING_TLS_CERT_UNREADABLE", what, `the private key does not parse (${(err as Error).message})`, { cause: err });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new CertificateError("POOLING_TLS_KEY_MISMATCH", what, "the private key is not the certificate's: a server could not complete a handshake with it. Nothing was installed or reloaded");
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new CertificateError("POOLING_TLS_WRONG_ISSUER", what, `not signed by the stack's CA (${ca.subject.replace(/\n/g, ", ")}): clients would refuse it. Nothing was installed or reloaded`);
  }
  return { notAfter };
}

/** Whether a certificate is within `marginMs` of its end (or past it), so it is time to make a new one. */
export function isDueForRenewal(certPem: string, marginMs: number, now = new Date()): boolean {
  return notAfterOf(certPem).getTime() - now.getTime() <= marginMs;
}
