/**
 * The metric names the alerting rules and the dashboard read, and where each was established. A name
 * that an exporter does not export makes a rule that never fires, so each is taken from the exporter's
 * own source at the version the manifests deploy (infra/config/images.ts), or from the probe's /metrics.
 *
 * - pgbouncer_exporter v0.10.2 (prometheus-community/pgbouncer_exporter @ decd013, collector.go):
 *   `metricMaps["pools"]` maps SHOW POOLS' cl_active, cl_waiting, sv_active and maxwait to
 *   `pgbouncer_pools_{client_active_connections,client_waiting_connections,server_active_connections,
 *   client_maxwait_seconds}` with labels database and user; `scrapeSuccessDesc` is `pgbouncer_up`. maxwait
 *   is exported in whole seconds (maxwait_us is not mapped), so a wait threshold is met one second late.
 * - postgres_exporter v0.17.1 (prometheus-community/postgres_exporter @ 1e574cf,
 *   cmd/postgres_exporter/queries.go and postgres_exporter.go): `pg_stat_activity_count`, one series per
 *   database × state (joined on pg_database, so background workers without a database are not counted);
 *   `pg_up`. Debian 12's 0.11.1, which the local stack runs, exports the same two names with fewer labels.
 * - redis_exporter v1.67.0 (oliver006/redis_exporter @ e2bb7fd, exporter/exporter.go): INFO's
 *   connected_clients as `redis_connected_clients`, `redis_up`; the same in Debian 12's 1.45.0.
 * - The probe (app-probe/src/metrics.ts, prom-client): `probe_ready`, and `probe_pgbouncer_*` and
 *   `probe_scrape_success{target="pgbouncer"}`, its own reading of SHOW POOLS.
 */

/** Where the PgBouncer figures come from. */
export type PgbouncerFigures = "exporter" | "probe";

export interface PgbouncerMetrics {
  clientsActive: string;
  clientsWaiting: string;
  serversActive: string;
  maxwaitSeconds: string;
  /** A series that is 0 when PgBouncer cannot be read, 1 when it can; its extra selector included. */
  up: { name: string; selector: Record<string, string> };
}

/**
 * On Kubernetes the pgbouncer_exporter sidecar reports each PgBouncer pod. Locally there is no exporter:
 * Debian packages no pgbouncer_exporter, so the probe's own reading of the same SHOW POOLS columns
 * stands in (same columns, same database and user labels; maxwait there includes maxwait_us).
 */
export const PGBOUNCER_METRICS: Readonly<Record<PgbouncerFigures, PgbouncerMetrics>> = {
  exporter: {
    clientsActive: "pgbouncer_pools_client_active_connections",
    clientsWaiting: "pgbouncer_pools_client_waiting_connections",
    serversActive: "pgbouncer_pools_server_active_connections",
    maxwaitSeconds: "pgbouncer_pools_client_maxwait_seconds",
    up: { name: "pgbouncer_up", selector: {} },
  },
  probe: {
    clientsActive: "probe_pgbouncer_clients_active",
    clientsWaiting: "probe_pgbouncer_clients_waiting",
    serversActive: "probe_pgbouncer_servers_active",
    maxwaitSeconds: "probe_pgbouncer_maxwait_seconds",
    up: { name: "probe_scrape_success", selector: { target: "pgbouncer" } },
  },
};

export const POSTGRES_METRICS = { backends: "pg_stat_activity_count", up: "pg_up" } as const;
export const REDIS_METRICS = { clients: "redis_connected_clients", up: "redis_up" } as const;
export const PROBE_METRICS = { ready: "probe_ready" } as const;

/** The jobs Prometheus scrapes: one per exporter and the probe. Their names are the `job` label. */
export const SCRAPE_JOBS = {
  postgres: "pooling-postgres-exporter",
  pgbouncer: "pooling-pgbouncer-exporter",
  redis: "pooling-redis-exporter",
  probe: "pooling-probe",
} as const;
export type ScrapeJob = keyof typeof SCRAPE_JOBS;
