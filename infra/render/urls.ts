/**
 * Connection URLs, in the one form every standard client reads: psql, node-postgres, redis-cli, ioredis.
 * The local stack and the Kubernetes outputs both build theirs here.
 */

/** `postgresql://user:password@host:port/db`, user and password percent-encoded. */
export function postgresUrl(user: string, password: string, host: string, port: number, db: string): string {
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${db}`;
}

/**
 * The user the password belongs to: `requirepass` sets the password of Redis's `default` user.
 * `redis://:password@…` (no user) works in ioredis but redis-cli 7.0 sends it as `AUTH "" password` and
 * gets WRONGPASS (established with redis-cli 7.0.15), so the user is always named.
 */
export const REDIS_USER = "default";

/** `redis://default:password@host:port`, the password percent-encoded. */
export function redisUrl(password: string, host: string, port: number): string {
  return `redis://${REDIS_USER}:${encodeURIComponent(password)}@${host}:${port}`;
}
