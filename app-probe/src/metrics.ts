/**
 * The probe's Prometheus instruments, on a Registry of its own (never the global one, so several probes in
 * one test process do not collide).
 *
 * Counters and histograms are fed by the clients as work happens. Gauges read the same snapshot that
 * /stats serves, at scrape time, so the two can never disagree.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ProbeStats } from "./stats.ts";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: "probe_http_requests_total",
      help: "Requests served by the probe, by route and status.",
      labelNames: ["route", "status"] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: "probe_http_request_duration_seconds",
      help: "Time to serve a request, by route.",
      labelNames: ["route"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    pgAcquire: new Histogram({
      name: "probe_pg_acquire_seconds",
      help: "Time waiting for a client from the node-postgres pool (includes connecting when none is idle).",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    pgQuery: new Histogram({
      name: "probe_pg_query_seconds",
      help: "Time of one query on a checked-out client, by query name.",
      labelNames: ["query"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    pgErrors: new Counter({
      name: "probe_pg_errors_total",
      help: "PostgreSQL errors by kind: acquire_timeout, connection, query, idle_client.",
      labelNames: ["kind"] as const,
      registers,
    }),
    pgRetries: new Counter({
      name: "probe_pg_retries_total",
      help: "Transactions tried again on a fresh connection after failing before anything was sent, by outcome: recovered, failed.",
      labelNames: ["outcome"] as const,
      registers,
    }),
    redisCommand: new Histogram({
      name: "probe_redis_command_seconds",
      help: "Time of one Redis command, by command.",
      labelNames: ["command"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    redisErrors: new Counter({
      name: "probe_redis_errors_total",
      help: "Redis errors by kind: not_connected, timeout, connection, command.",
      labelNames: ["kind"] as const,
      registers,
    }),
    redisReconnects: new Counter({
      name: "probe_redis_reconnects_total",
      help: "Times the Redis client started reconnecting after losing its connection.",
      registers,
    }),
    upstreamRequests: new Counter({
      name: "probe_http_client_requests_total",
      help: "Requests sent through the keep-alive agent.",
      registers,
    }),
    upstreamSockets: new Counter({
      name: "probe_http_client_sockets_opened_total",
      help: "Sockets the keep-alive agent opened; with the request count this gives the reuse ratio.",
      registers,
    }),
    upstreamErrors: new Counter({
      name: "probe_http_client_errors_total",
      help: "Upstream call failures by kind: timeout, connection, status.",
      labelNames: ["kind"] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

type Sample = { labels?: Record<string, string>; value: number };

/** A gauge whose samples are read from the stats snapshot each time Prometheus scrapes. */
function snapshotGauge(
  registry: Registry,
  stats: () => Promise<ProbeStats>,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: (s: ProbeStats) => Sample[],
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      for (const sample of read(await stats())) {
        if (sample.labels === undefined) this.set(sample.value);
        else this.set(sample.labels, sample.value);
      }
    },
  });
}

/**
 * Registers the gauges that mirror {@link ProbeStats}. A failed or unconfigured scrape produces no
 * sample at all (plus probe_scrape_success 0): an absent series is honest, a zero would be a lie.
 */
export function registerStatsGauges(registry: Registry, stats: () => Promise<ProbeStats>): void {
  const g = (name: string, help: string, labels: readonly string[], read: (s: ProbeStats) => Sample[]) =>
    snapshotGauge(registry, stats, name, help, labels, read);
  const one = (value: number): Sample[] => [{ value }];

  g("probe_pg_pool_total", "Clients in the node-postgres pool (idle + checked out).", [], (s) => one(s.postgresPool.total));
  g("probe_pg_pool_idle", "Idle clients in the node-postgres pool.", [], (s) => one(s.postgresPool.idle));
  g("probe_pg_pool_waiting", "Callers queued for a node-postgres client.", [], (s) => one(s.postgresPool.waiting));
  g("probe_pg_pool_max", "Configured PG_POOL_MAX.", [], (s) => one(s.postgresPool.max));
  g("probe_redis_connected", "1 when the Redis command connection is ready.", [], (s) => one(s.redis.ready ? 1 : 0));
  g("probe_redis_connections", "Redis connections open now.", [], (s) => one(s.redis.connections));
  g("probe_http_client_sockets_open", "Sockets the keep-alive agent holds open now.", [], (s) => one(s.http.socketsOpen));
  g("probe_http_client_max_sockets", "Configured HTTP_MAX_SOCKETS.", [], (s) => one(s.http.maxSockets));
  g("probe_http_client_socket_reuse_ratio", "1 - sockets opened / requests sent (0 before any request).", [], (s) =>
    one(s.http.reuseRatio),
  );
  g("probe_in_flight_requests", "Requests being served now.", [], (s) => one(s.inFlight));
  g("probe_draining", "1 once shutdown has begun.", [], (s) => one(s.draining ? 1 : 0));

  g("probe_scrape_success", "1 when the last scrape of the target succeeded.", ["target"], (s) => [
    ...(s.pgbouncer === null ? [] : [{ labels: { target: "pgbouncer" }, value: s.pgbouncer.ok ? 1 : 0 }]),
    ...(s.postgres === null ? [] : [{ labels: { target: "postgres" }, value: s.postgres.ok ? 1 : 0 }]),
  ]);

  const pools = (s: ProbeStats) => (s.pgbouncer?.ok === true ? s.pgbouncer.data.pools : []);
  const poolGauge = (field: "clActive" | "clWaiting" | "svActive" | "svIdle" | "svUsed" | "maxwaitSeconds", name: string, help: string) =>
    g(name, help, ["database", "user"], (s) =>
      pools(s).map((p) => ({ labels: { database: p.database, user: p.user }, value: p[field] })),
    );
  poolGauge("clActive", "probe_pgbouncer_clients_active", "PgBouncer SHOW POOLS cl_active.");
  poolGauge("clWaiting", "probe_pgbouncer_clients_waiting", "PgBouncer SHOW POOLS cl_waiting.");
  poolGauge("svActive", "probe_pgbouncer_servers_active", "PgBouncer SHOW POOLS sv_active.");
  poolGauge("svIdle", "probe_pgbouncer_servers_idle", "PgBouncer SHOW POOLS sv_idle.");
  poolGauge("svUsed", "probe_pgbouncer_servers_used", "PgBouncer SHOW POOLS sv_used.");
  poolGauge("maxwaitSeconds", "probe_pgbouncer_maxwait_seconds", "PgBouncer SHOW POOLS maxwait (oldest waiting client).");

  const bouncerStats = (s: ProbeStats) => (s.pgbouncer?.ok === true ? s.pgbouncer.data.stats : []);
  const statGauge = (field: "xactCount" | "queryCount" | "avgXactSeconds" | "avgWaitSeconds", name: string, help: string) =>
    g(name, help, ["database"], (s) => bouncerStats(s).map((st) => ({ labels: { database: st.database }, value: st[field] })));
  statGauge("xactCount", "probe_pgbouncer_xact_count", "PgBouncer SHOW STATS total_xact_count (a counter read as a gauge).");
  statGauge("queryCount", "probe_pgbouncer_query_count", "PgBouncer SHOW STATS total_query_count (a counter read as a gauge).");
  statGauge("avgXactSeconds", "probe_pgbouncer_avg_xact_seconds", "PgBouncer SHOW STATS avg_xact_time.");
  statGauge("avgWaitSeconds", "probe_pgbouncer_avg_wait_seconds", "PgBouncer SHOW STATS avg_wait_time.");

  g("probe_postgres_backends", "PostgreSQL client backends from pg_stat_activity.", ["database", "user", "state"], (s) =>
    (s.postgres?.ok === true ? s.postgres.data.backends : []).map((b) => ({
      labels: { database: b.database, user: b.user, state: b.state },
      value: b.count,
    })),
  );
  g("probe_postgres_max_connections", "PostgreSQL max_connections.", [], (s) =>
    s.postgres?.ok === true ? one(s.postgres.data.maxConnections) : [],
  );
}

/** How long a scrape waits for a fresh readiness check before reporting the last completed one. */
export const READY_GAUGE_WAIT_MS = 250;

/**
 * probe_ready: the /readyz answer (1 ready, 0 not), so an alert can say a replica cannot serve without a
 * blackbox prober. Each scrape starts a readiness check (unless one is running) and waits for it briefly;
 * a check still waiting on a hung dependency (up to READY_CHECK_TIMEOUT_MS) leaves the last completed
 * answer in place, so /metrics stays fast enough for the scrape timeout and the other figures still arrive.
 */
export function registerReadinessGauge(registry: Registry, readiness: () => Promise<{ ready: boolean }>): void {
  let last: boolean | undefined;
  let running: Promise<void> | undefined;
  new Gauge({
    name: "probe_ready",
    help: "1 when /readyz answers 200 (not draining, PostgreSQL through PgBouncer and Redis answering), else 0.",
    registers: [registry],
    async collect() {
      running ??= readiness()
        .then(
          (r) => void (last = r.ready),
          () => void (last = false),
        )
        .finally(() => (running = undefined));
      await Promise.race([running, new Promise((resolve) => setTimeout(resolve, READY_GAUGE_WAIT_MS).unref())]);
      // Not ready until a check has succeeded.
      this.set(last === true ? 1 : 0);
    },
  });
}
