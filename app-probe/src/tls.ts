/**
 * The probe's TLS client settings: the CA it verifies PgBouncer, PostgreSQL and Redis with
 * (TLS_CA_FILE), and its own pair when servers ask for one (TLS_CERT_FILE, TLS_KEY_FILE). The files are
 * read at every new connection, not once: a renewed client pair written over the same path is used by the
 * next connection, without a restart.
 */
import { readFileSync } from "node:fs";
import type { ProbeEnv } from "./env.ts";

export interface TlsClientOptions {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: true;
}

/** Options whose ca/cert/key are read when a connection copies them (node-postgres and ioredis both do). */
export function tlsClientOptions(env: Pick<ProbeEnv, "tlsCaFile" | "tlsCertFile" | "tlsKeyFile">): TlsClientOptions | undefined {
  const { tlsCaFile, tlsCertFile, tlsKeyFile } = env;
  if (tlsCaFile === undefined) return undefined;
  const read = (file: string) => readFileSync(file, "utf8");
  const options = {
    get ca() {
      return read(tlsCaFile);
    },
    // Verification on, always: a certificate not signed by the CA, or not naming the host, fails the connection.
    rejectUnauthorized: true as const,
  };
  if (tlsCertFile === undefined || tlsKeyFile === undefined) return options;
  // Configurable: pg-pool hides `ssl.key` with Object.defineProperty(…, { enumerable: false }) (pg-pool
  // index.js), which throws on a non-configurable property; node-postgres still reads it by name
  // (pg lib/connection.js: `if ('key' in self.ssl)`), so the getter keeps reading the current file.
  return Object.defineProperties(options, {
    cert: { get: () => read(tlsCertFile), enumerable: true, configurable: true },
    key: { get: () => read(tlsKeyFile), enumerable: true, configurable: true },
  }) as TlsClientOptions;
}

/** libpq's TLS parameters, which node-postgres would turn into an `ssl` object that overrides ours. */
const LIBPQ_TLS_PARAMS = ["sslmode", "sslrootcert", "sslcert", "sslkey"] as const;

/**
 * The URL without libpq's TLS parameters when the probe has its own TLS options (node-postgres lets the
 * connection string's ssl win over the `ssl` option: pg ConnectionParameters); as it is otherwise.
 */
export function urlForOwnTls(url: string, tls: TlsClientOptions | undefined): string {
  if (!tls) return url;
  const u = new URL(url);
  for (const p of LIBPQ_TLS_PARAMS) u.searchParams.delete(p);
  return u.toString();
}
