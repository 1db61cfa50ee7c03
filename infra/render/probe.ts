/**
 * The probe app's environment, computed from the stack config. The names are the probe's env contract
 * (app-probe/src/env.ts); a test parses this output with the probe's own loader so the two cannot drift.
 */
import type { StackConfig } from "../config/index.ts";
import type { ClientTls } from "./urls.ts";

export interface ProbeEndpoints {
  /** Pooled, through PgBouncer. */
  databaseUrl: string;
  /** Straight to PostgreSQL, for pg_stat_activity figures only. */
  directDatabaseUrl?: string;
  /** PgBouncer's console as the stats user. */
  pgbouncerStatsUrl?: string;
  redisUrl: string;
  /** The CA the probe verifies every server with (and its client pair, when servers ask for one). */
  tls?: ClientTls;
  host: string;
  /** Overrides pooling:probe.port (0 lets the probe pick a free port). */
  port?: number;
}

export function probeEnvironment(cfg: StackConfig, ep: ProbeEndpoints): Record<string, string> {
  const p = cfg.probe;
  const env: Record<string, string> = {
    PROBE_HOST: ep.host,
    PROBE_PORT: String(ep.port ?? p.port),
    DATABASE_URL: ep.databaseUrl,
    REDIS_URL: ep.redisUrl,
    PG_POOL_MAX: String(p.postgresPoolMax),
    PG_IDLE_TIMEOUT_MS: String(p.postgresIdleTimeout),
    PG_CONNECTION_TIMEOUT_MS: String(p.postgresConnectionTimeout),
    // Named prepared statements survive transaction pooling only where PgBouncer tracks them.
    PG_PREPARED_STATEMENTS: String(cfg.pgbouncer.poolMode === "session" || (cfg.pgbouncer.maxPreparedStatements ?? 0) > 0),
    HTTP_MAX_SOCKETS: String(p.httpMaxSockets),
    HTTP_KEEPALIVE_TIMEOUT_MS: String(p.httpKeepAliveTimeout),
    SERVER_KEEPALIVE_TIMEOUT_MS: String(p.serverKeepAliveTimeout),
    SHUTDOWN_GRACE_MS: String(p.shutdownGrace),
    // The probe reads SHOW POOLS and pg_stat_activity at most this often: once per Prometheus scrape, so
    // the figures an alert sees are never older than the scrape that brought them.
    METRICS_SCRAPE_INTERVAL_MS: String(cfg.monitoring.scrapeInterval),
  };
  if (ep.tls) env.TLS_CA_FILE = ep.tls.caFile;
  if (ep.tls?.certFile && ep.tls.keyFile) {
    env.TLS_CERT_FILE = ep.tls.certFile;
    env.TLS_KEY_FILE = ep.tls.keyFile;
  }
  if (ep.directDatabaseUrl) env.DIRECT_DATABASE_URL = ep.directDatabaseUrl;
  if (ep.pgbouncerStatsUrl) env.PGBOUNCER_ADMIN_URL = ep.pgbouncerStatsUrl;
  return env;
}
