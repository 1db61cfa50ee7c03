/** Connection URLs of the in-cluster Services. Every one holds a password: callers keep them secret. */
import type { StackConfig } from "../../config/index.ts";
import type { StackSecrets } from "../../render/index.ts";
import { postgresUrl as pgUrl, redisUrl as redisUrlOf } from "../../render/urls.ts";
import { serviceHost } from "./common.ts";

/** Pooled, through PgBouncer: what an application's driver uses. */
export function pooledUrl(cfg: StackConfig, s: StackSecrets): string {
  return pgUrl(cfg.postgres.user, s.app.password, serviceHost(cfg, "pgbouncer"), cfg.pgbouncer.port, cfg.postgres.database);
}

/**
 * The pooled URL for Prisma: `pgbouncer=true` turns off its named prepared statements, and its own pool
 * gets the probe's bound and acquire timeout (Prisma counts `pool_timeout` in seconds).
 */
export function prismaDatabaseUrl(cfg: StackConfig, s: StackSecrets): string {
  const p = cfg.probe;
  const query = new URLSearchParams({
    pgbouncer: "true",
    connection_limit: String(p.postgresPoolMax),
    pool_timeout: String(Math.ceil(p.postgresConnectionTimeout / 1000)),
  });
  return `${pooledUrl(cfg, s)}?${query.toString()}`;
}

/** Straight to PostgreSQL, for migrations (Prisma's `directUrl`). */
export function directUrl(cfg: StackConfig, s: StackSecrets): string {
  return pgUrl(cfg.postgres.user, s.app.password, serviceHost(cfg, "postgres"), cfg.postgres.port, cfg.postgres.database);
}

/** PgBouncer's console as the read-only stats user (SHOW POOLS, SHOW STATS). */
export function pgbouncerStatsUrl(cfg: StackConfig, s: StackSecrets): string {
  return pgUrl(cfg.pgbouncer.statsUser, s.pgbouncerStats.password, serviceHost(cfg, "pgbouncer"), cfg.pgbouncer.port, "pgbouncer");
}

export function redisUrl(cfg: StackConfig, s: StackSecrets): string {
  return redisUrlOf(s.redisPassword, serviceHost(cfg, "redis"), cfg.redis.port);
}
