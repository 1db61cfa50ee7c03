/**
 * Connection URLs, in the one form every standard client reads: psql, node-postgres, redis-cli, ioredis.
 * The local stack and the Kubernetes outputs both build theirs here.
 */

/** Where a client finds the CA it trusts (and its own pair, when servers ask for one). */
export interface ClientTls {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

/**
 * `postgresql://user:password@host:port/db`, user and password percent-encoded. With `tls`, libpq's
 * `sslmode=verify-full&sslrootcert=…` (and `sslcert`/`sslkey`), which psql and lib/pq read as they are and
 * node-postgres' pg-connection-string turns into `ssl: { ca, cert, key }` with verification on.
 */
export function postgresUrl(user: string, password: string, host: string, port: number, db: string, tls?: ClientTls): string {
  const base = `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${db}`;
  if (!tls) return base;
  const query = new URLSearchParams({ sslmode: "verify-full", sslrootcert: tls.caFile });
  if (tls.certFile && tls.keyFile) {
    query.set("sslcert", tls.certFile);
    query.set("sslkey", tls.keyFile);
  }
  return `${base}?${query.toString()}`;
}

/**
 * The user the password belongs to: `requirepass` sets the password of Redis's `default` user.
 * `redis://:password@…` (no user) works in ioredis but redis-cli 7.0 sends it as `AUTH "" password` and
 * gets WRONGPASS (established with redis-cli 7.0.15), so the user is always named.
 */
export const REDIS_USER = "default";

/**
 * `redis://default:password@host:port`, the password percent-encoded; `rediss://` with TLS (ioredis and
 * redis-cli -u both read it; the CA goes beside it: ioredis `tls: { ca }`, redis-cli `--cacert`).
 */
export function redisUrl(password: string, host: string, port: number, tls = false): string {
  return `${tls ? "rediss" : "redis"}://${REDIS_USER}:${encodeURIComponent(password)}@${host}:${port}`;
}
