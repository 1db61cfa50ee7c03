/**
 * What each server's TLS settings are made of: the files it reads (where they are is the target's
 * business: a mounted Secret on Kubernetes, the data folder locally) and the protocol versions the stack
 * config allows, written the way each server spells them.
 */
import type { StackConfig } from "../config/index.ts";

/** The PEM files one server reads. */
export interface TlsFiles {
  /** The stack's CA certificate: what the server trusts (clients' certificates, PostgreSQL's for PgBouncer). */
  ca: string;
  /** The server's own certificate and key. */
  cert: string;
  key: string;
}

/** Every TLS version from the configured minimum up. */
function versionsFrom(cfg: StackConfig): ("1.2" | "1.3")[] {
  return cfg.tls.minVersion === "TLSv1.3" ? ["1.3"] : ["1.2", "1.3"];
}

/** PgBouncer's *_tls_protocols list (doc/config.md at 1.18 and 1.24: tlsv1.0 … tlsv1.3, comma-separated). */
export function pgbouncerTlsProtocols(cfg: StackConfig): string {
  return versionsFrom(cfg)
    .map((v) => `tlsv${v}`)
    .join(",");
}

/** Redis' tls-protocols: one quoted, space-separated argument (redis.conf of 7.0: "TLSv1.2 TLSv1.3"). */
export function redisTlsProtocols(cfg: StackConfig): string {
  return `"${versionsFrom(cfg)
    .map((v) => `TLSv${v}`)
    .join(" ")}"`;
}

/**
 * The files a server needs when the stack has TLS on; undefined when it is off. Files missing while TLS is
 * on are a bug of the caller (the target decides where the files are), not a config problem.
 */
export function tlsFilesFor<T>(cfg: StackConfig, files: T | undefined, server: string): T | undefined {
  if (!cfg.tls.enabled) return undefined;
  if (files === undefined) throw new Error(`pooling:tls.enabled is true but the ${server} runtime names no certificate files`);
  return files;
}
