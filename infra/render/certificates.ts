/**
 * The stack's certificate set: one CA, a leaf per server whose names cover every name its clients use,
 * and one client leaf (PgBouncer towards PostgreSQL, the probe, the exporters) for when clients must
 * present certificates. Made from crypto like the passwords (secrets.ts): the Pulumi program keeps the
 * set in state (Stashes), the local stack in its data folder; both build it here, on lib/pki.ts.
 */
import type { StackConfig } from "../config/index.ts";
import { checkPair, createCaPem, isDueForRenewal, issueLeaf, loadCa, type PemPair } from "../../lib/pki.ts";

export const TLS_SERVERS = ["postgres", "pgbouncer", "redis"] as const;
export type TlsServer = (typeof TLS_SERVERS)[number];
export type TlsLeafName = TlsServer | "client";
export const TLS_LEAVES: readonly TlsLeafName[] = [...TLS_SERVERS, "client"];

/** The names a server is reached by: Service DNS names on Kubernetes, 127.0.0.1 and localhost locally. */
export interface ServerNames {
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
}

export type StackLeaves = Record<TlsLeafName, PemPair>;

/** Ten years: the CA is the trust anchor every client holds, so it outlives any leaf by far; only leaves rotate. */
export const CA_LIFETIME_MS = 3650 * 86_400_000;
/** The subject CN the client leaf carries: clients are checked for the CA's signature (verify-ca), not a name. */
export const CLIENT_CN = "pooling-client";

export function createStackCa(cfg: StackConfig, now = new Date()): Promise<PemPair> {
  return createCaPem({ subject: [{ O: ["pooling"] }, { CN: [`pooling ${cfg.stack} CA`] }], lifetimeMs: CA_LIFETIME_MS, now });
}

/** A fresh leaf for every server and the client one, each living pooling:tls.lifetime. */
export async function issueStackLeaves(cfg: StackConfig, ca: PemPair, names: Record<TlsServer, ServerNames>, now = new Date()): Promise<StackLeaves> {
  const signer = await loadCa(ca);
  const lifetimeMs = cfg.tls.lifetime;
  const server = (name: TlsServer) =>
    issueLeaf(signer, { subject: [{ O: ["pooling"] }, { CN: [names[name].dnsNames[0] ?? `pooling-${name}`] }], usage: "server", ...names[name], lifetimeMs, now });
  const [postgres, pgbouncer, redis, client] = await Promise.all([
    server("postgres"),
    server("pgbouncer"),
    server("redis"),
    issueLeaf(signer, { subject: [{ O: ["pooling"] }, { CN: [CLIENT_CN] }], usage: "client", lifetimeMs, now }),
  ]);
  return { postgres, pgbouncer, redis, client };
}

/**
 * Every leaf checked as a server would need it (lib/pki.ts checkPair): the first that is expired, has a
 * key that is not its certificate's, or is not signed by the stack's CA throws its CertificateError.
 */
export function checkStackLeaves(leaves: StackLeaves, caCert: string, now = new Date()): void {
  for (const name of TLS_LEAVES) checkPair(leaves[name], caCert, `the ${name} certificate`, now);
}

/** Whether any leaf is within pooling:tls.renewBefore of its end: then the whole set is made again. */
export function leavesDue(cfg: StackConfig, leaves: StackLeaves, now = new Date()): boolean {
  return TLS_LEAVES.some((name) => isDueForRenewal(leaves[name].cert, cfg.tls.renewBefore, now));
}

/**
 * Which renewal period `now` falls in: ⌊now / (lifetime − renewBefore)⌋. A target that cannot look at its
 * leaves before deciding (the Pulumi program names its resources before any value is known) makes a new
 * set whenever this number changes. A set made during period e, at t ≥ e·P (P = lifetime − renewBefore),
 * still has t + lifetime − (e+1)·P ≥ renewBefore to live when period e+1 begins: so a leaf is replaced at
 * the first run after it enters its last renewBefore, never later, and never more than once per period.
 */
export function renewalEpoch(tls: Pick<StackConfig["tls"], "lifetime" | "renewBefore">, now = new Date()): number {
  const period = tls.lifetime - tls.renewBefore;
  if (!(period > 0)) throw new Error(`pooling:tls.renewBefore (${tls.renewBefore} ms) must be shorter than pooling:tls.lifetime (${tls.lifetime} ms)`);
  return Math.floor(now.getTime() / period);
}
