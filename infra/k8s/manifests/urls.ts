/** Connection URLs of the in-cluster Services. Every one holds a password: callers keep them secret. */
import type { StackConfig } from "../../config/index.ts";
import type { StackSecrets } from "../../render/index.ts";
import { postgresUrl, redisUrl as redisUrlOf, type ClientTls } from "../../render/urls.ts";
import { serviceHost } from "./common.ts";
import { PGBOUNCER_ADMIN_DATABASE } from "../../render/names.ts";

/**
 * Where a client pod finds the stack's CA (and the client pair): the probe mounts the client TLS Secret
 * here, and an application that uses the exported URLs as they are mounts it at the same path.
 */
export const CLIENT_TLS_DIR = "/etc/pooling/tls";

/** The TLS parameters every exported PostgreSQL URL carries; none with TLS off. */
export function clientTls(cfg: StackConfig): ClientTls | undefined {
  if (!cfg.tls.enabled) return undefined;
  const pair = cfg.tls.clientCertificates ? { certFile: `${CLIENT_TLS_DIR}/tls.crt`, keyFile: `${CLIENT_TLS_DIR}/tls.key` } : {};
  return { caFile: `${CLIENT_TLS_DIR}/ca.crt`, ...pair };
}

const pgUrl = (cfg: StackConfig, user: string, password: string, host: string, port: number, db: string) => postgresUrl(user, password, host, port, db, clientTls(cfg));

/** Pooled, through PgBouncer: what an application's driver uses. */
export function pooledUrl(cfg: StackConfig, s: StackSecrets): string {
  return pgUrl(cfg, cfg.postgres.user, s.app.password, serviceHost(cfg, "pgbouncer"), cfg.pgbouncer.port, cfg.postgres.database);
}

/**
 * The pooled URL for Prisma 6 and older (the Rust query engine): `pgbouncer=true` turns off its named
 * prepared statements, and its own pool gets the probe's bound and acquire timeout (Prisma counts
 * `pool_timeout` in seconds). Prisma 7 ignores these parameters: it takes `pooledUrl` and
 * `prismaAdapterOptions`.
 */
export function prismaDatabaseUrl(cfg: StackConfig, s: StackSecrets): string {
  const { max, connectionTimeoutMillis } = prismaAdapterOptions(cfg);
  const url = new URL(pooledUrl(cfg, s));
  url.searchParams.set("pgbouncer", "true");
  url.searchParams.set("connection_limit", String(max));
  url.searchParams.set("pool_timeout", String(Math.ceil(connectionTimeoutMillis / 1000)));
  return url.toString();
}

/** node-postgres Pool options: what `@prisma/adapter-pg` (Prisma 7) is given next to `pooledUrl`. */
export interface PrismaAdapterOptions {
  max: number;
  connectionTimeoutMillis: number;
  idleTimeoutMillis: number;
}

/**
 * The pool an application's Prisma 7 client opens to PgBouncer: the bound and timeouts the connection
 * budget counts for each app instance (`pooling:probe.postgresPoolMax` against `max_client_conn`), the same
 * ones Prisma 6 gets through `prismaDatabaseUrl`'s query parameters.
 */
export function prismaAdapterOptions(cfg: StackConfig): PrismaAdapterOptions {
  const p = cfg.probe;
  return { max: p.postgresPoolMax, connectionTimeoutMillis: p.postgresConnectionTimeout, idleTimeoutMillis: p.postgresIdleTimeout };
}

/** Straight to PostgreSQL, for migrations (Prisma's `directUrl`). */
export function directUrl(cfg: StackConfig, s: StackSecrets): string {
  return pgUrl(cfg, cfg.postgres.user, s.app.password, serviceHost(cfg, "postgres"), cfg.postgres.port, cfg.postgres.database);
}

/** PgBouncer's console as the read-only stats user (SHOW POOLS, SHOW STATS). */
export function pgbouncerStatsUrl(cfg: StackConfig, s: StackSecrets): string {
  return pgUrl(cfg, cfg.pgbouncer.statsUser, s.pgbouncerStats.password, serviceHost(cfg, "pgbouncer"), cfg.pgbouncer.port, PGBOUNCER_ADMIN_DATABASE);
}

export function redisUrl(cfg: StackConfig, s: StackSecrets): string {
  return redisUrlOf(s.redisPassword, serviceHost(cfg, "redis"), cfg.redis.port, cfg.tls.enabled);
}
