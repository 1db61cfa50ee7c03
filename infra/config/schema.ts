/**
 * The stack config schema: every key under the `pooling` namespace, its type, range and default.
 * Defaults are the seed's tuned values and live here only; pool sizes left unset are derived (pools.ts).
 */
import { z } from "zod";
import { DERIVED_MIN_RULE, DERIVED_POOL_RULE, DERIVED_RESERVE_RULE, MIN_DERIVED_POOL_SIZE, SERVER_CONNECTIONS_PER_CPU } from "./pools.ts";
import { clusterSchema } from "./cluster.ts";
import { bool, choice, type FieldDoc, cpu, dnsLabel, duration, identifier, int, optionalInt, optionalSize, size, version } from "./fields.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

export const POOL_MODES = ["session", "transaction", "statement"] as const;
export const REDIS_EVICTION_POLICIES = [
  "noeviction",
  "allkeys-lru",
  "allkeys-lfu",
  "allkeys-random",
  "volatile-lru",
  "volatile-lfu",
  "volatile-random",
  "volatile-ttl",
] as const;

export const postgresSchema = z.strictObject({
  version: version("17", /^\d{2}(\.\d+)?$/, "17", "PostgreSQL major version: the image tag on Kubernetes (the local stack uses the installed server)."),
  memory: size("1Gi", 64 * MiB, "Memory limit of the PostgreSQL container; drives shared_buffers (25%) and effective_cache_size (75%) unless set."),
  cpu: cpu("1", "CPU request and limit of the PostgreSQL container."),
  storage: size("2Gi", MiB, "Size of the PostgreSQL data volume."),
  port: int(5432, 1, 65535, "Port PostgreSQL listens on inside the cluster."),
  maxConnections: int(200, 10, 10_000, "max_connections: every server connection PostgreSQL accepts."),
  superuserReservedConnections: int(3, 0, 100, "superuser_reserved_connections: kept for superusers only."),
  headroomConnections: int(10, 0, 1000, "Connections kept free of PgBouncer pools for migrations, exporters and psql."),
  sharedBuffers: optionalSize(128 * KiB, "shared_buffers; default 25% of memory, at most 40% of it."),
  effectiveCacheSize: optionalSize(8 * KiB, "effective_cache_size; default 75% of memory."),
  maintenanceWorkMem: size("64MB", MiB, "maintenance_work_mem: memory for VACUUM, CREATE INDEX and friends."),
  workMem: size("4MB", 64 * KiB, "work_mem: memory per sort or hash operation."),
  statementTimeout: duration("30s", "statement_timeout: a statement running longer is cancelled (0s = never)."),
  idleInTransactionSessionTimeout: duration("30s", "idle_in_transaction_session_timeout: a session idle inside a transaction this long is ended (0s = never)."),
  lockTimeout: duration("10s", "lock_timeout: a statement waiting this long for a lock fails (0s = never)."),
  database: identifier("app", "The application database."),
  user: identifier("app", "The application role (SCRAM-SHA-256 password, generated)."),
});

export const pgbouncerSchema = z.strictObject({
  version: version("1.24", /^1\.\d{1,2}(\.\d+)?$/, "1.24", "PgBouncer version: the image tag on Kubernetes; settings it does not know are refused."),
  replicas: int(2, 1, 50, "PgBouncer pods; each opens its own server connections."),
  port: int(6432, 1, 65535, "listen_port: where clients connect (changing it restarts PgBouncer)."),
  cpu: cpu("500m", "CPU request and limit of each PgBouncer container."),
  memory: size("128Mi", 16 * MiB, "Memory limit of each PgBouncer container."),
  poolMode: choice(POOL_MODES, "transaction", "pool_mode: when a server connection goes back to the pool."),
  maxClientConn: int(1000, 1, 100_000, "max_client_conn: client connections one PgBouncer accepts."),
  defaultPoolSize: optionalInt(
    1,
    10_000,
    `default_pool_size: server connections per user/database pair, in each PgBouncer replica. Unset, it follows PostgreSQL's CPUs: ${SERVER_CONNECTIONS_PER_CPU} server connections per core, split across the replicas, at least ${MIN_DERIVED_POOL_SIZE} per replica, because past a few busy backends per core a bigger pool buys contention, not throughput (the pool-size sweep in docs/performance).`,
    DERIVED_POOL_RULE,
  ),
  minPoolSize: optionalInt(0, 10_000, "min_pool_size: server connections kept open even when idle. Unset, it keeps the seed's proportion (10 of 25) of defaultPoolSize.", DERIVED_MIN_RULE),
  reservePoolSize: optionalInt(
    0,
    10_000,
    "reserve_pool_size: extra server connections for a pool whose clients wait. Unset, it keeps the seed's proportion (5 of 25) of defaultPoolSize.",
    DERIVED_RESERVE_RULE,
  ),
  reservePoolTimeout: duration("3s", "reserve_pool_timeout: how long a client waits before the reserve pool is used."),
  serverLifetime: duration("1h", "server_lifetime: a server connection older than this is closed once idle."),
  serverIdleTimeout: duration("10m", "server_idle_timeout: an idle server connection is closed after this."),
  serverConnectTimeout: duration("15s", "server_connect_timeout: connecting and logging in to PostgreSQL may take this long."),
  serverLoginRetry: duration(
    "1s",
    "server_login_retry: wait after a failed server login before trying again. 1s, not PgBouncer's 15s: during a PostgreSQL restart one failed login would otherwise fail every client for 15 s, though PostgreSQL is back within about a second.",
  ),
  queryTimeout: duration("60s", "query_timeout: a query running longer is cancelled by PgBouncer (0s = never)."),
  queryWaitTimeout: duration("120s", "query_wait_timeout: a client waiting this long for a server connection is disconnected (0s = never)."),
  clientIdleTimeout: duration("0s", "client_idle_timeout: an idle client connection is closed after this (0s = never)."),
  clientLoginTimeout: duration("60s", "client_login_timeout: a client must log in within this."),
  maxPreparedStatements: optionalInt(0, 100_000, "max_prepared_statements: protocol-level prepared statements in transaction mode; needs PgBouncer 1.21 or newer (default there 200, not rendered below it)."),
  logConnections: bool(false, "log_connections: log every client login (costly under load)."),
  logDisconnections: bool(false, "log_disconnections: log every client logout."),
  statsPeriod: duration("60s", "stats_period: how often PgBouncer writes its averages to the log."),
  adminUser: identifier("pgbouncer_admin", "The admin console user (RELOAD, PAUSE); local connections only."),
  statsUser: identifier("pgbouncer_stats", "The read-only console user for exporters and the probe (SHOW POOLS / STATS)."),
});

export const redisSchema = z.strictObject({
  version: version("7.4", /^\d+\.\d+(\.\d+)?$/, "7.4", "Redis version: the image tag on Kubernetes."),
  port: int(6379, 1, 65535, "Port Redis listens on."),
  cpu: cpu("500m", "CPU request and limit of the Redis container."),
  memory: size("256Mi", 16 * MiB, "Memory limit of the Redis container; maxmemory is 75% of it unless set."),
  maxMemory: optionalSize(MiB, "maxmemory: data Redis keeps before the eviction policy applies; default 75% of memory."),
  maxMemoryPolicy: choice(REDIS_EVICTION_POLICIES, "noeviction", "maxmemory-policy: noeviction refuses writes when full instead of dropping acknowledged data."),
  maxClients: int(1000, 1, 100_000, "maxclients: client connections Redis accepts."),
  timeout: duration("300s", "timeout: an idle client connection is closed after this (0s = never)."),
  tcpKeepalive: duration("60s", "tcp-keepalive: interval of TCP keep-alive probes to clients (0s = off)."),
  appendOnly: bool(true, "appendonly: log every write so a restart keeps acknowledged writes."),
  storage: size("1Gi", MiB, "Size of the Redis data volume."),
});

/**
 * The probe's keys. Each becomes one of the probe's environment variables (infra/render/probe.ts), and the
 * probe (app-probe/src/env.ts, which ships alone) keeps its own defaults and ranges for them:
 * test/unit/probe-contract.test.ts fails when the two copies differ.
 */
export const probeSchema = z.strictObject({
  replicas: int(2, 1, 100, "Probe app pods."),
  port: int(8080, 1, 65535, "Port the probe app listens on."),
  cpu: cpu("500m", "CPU request and limit of each probe container."),
  memory: size("256Mi", 32 * MiB, "Memory limit of each probe container."),
  postgresPoolMax: int(20, 1, 10_000, "node-postgres Pool max: connections each probe pod opens to PgBouncer."),
  postgresIdleTimeout: duration("10s", "node-postgres idleTimeoutMillis: an idle pooled client is closed after this (0s = never).", { min: 0, max: 86_400_000 }),
  postgresConnectionTimeout: duration("5s", "node-postgres connectionTimeoutMillis: acquiring a connection fails after this.", { min: 1, max: 600_000 }),
  httpMaxSockets: int(50, 1, 100_000, "undici Agent connections per upstream origin."),
  httpKeepAliveTimeout: duration("4s", "undici keepAliveTimeout: below the upstream server's keep-alive timeout.", { min: 1, max: 600_000 }),
  serverKeepAliveTimeout: duration("5s", "The probe's own HTTP server keepAliveTimeout (it is the default upstream).", { min: 1, max: 600_000 }),
  shutdownGrace: duration("10s", "Time the probe has to finish in-flight requests after SIGTERM.", { min: 0, max: 600_000 }),
});

/**
 * What Prometheus watches and when it alerts. Thresholds of the alerting rules (infra/render/alerts.ts)
 * are the other sections' values (pool sizes, max_client_conn, the connection budget, maxclients,
 * query_wait_timeout); these keys only say how close to a limit is "close" and how long is "long".
 */
export const monitoringSchema = z.strictObject({
  operator: bool(
    false,
    "The cluster runs prometheus-operator (monitoring.coreos.com/v1 CRDs): deploy a PrometheusRule with the alerts, a PodMonitor per exporter and the probe, and exporter sidecars.",
  ),
  scrapeInterval: duration("30s", "How often Prometheus scrapes the exporters and the probe (PodMonitor interval; the local Prometheus' scrape_interval).", { min: 100, max: 600_000 }),
  evaluationInterval: duration("30s", "How often the alerting rules are evaluated (the rule group's interval).", { min: 100, max: 600_000 }),
  for: duration("2m", "How long a condition must hold before its alert fires (Prometheus `for`), except pool saturation.", { min: 0, max: 86_400_000 }),
  saturationFor: duration("5m", "How long a PgBouncer pool must have every server connection of pooling:pgbouncer.defaultPoolSize in use before PgBouncerPoolSaturated fires.", {
    min: 0,
    max: 86_400_000,
  }),
  clientWait: duration("1s", "PgBouncerClientsWaiting fires when the oldest client waiting for a server connection has waited longer than this.", { min: 0, max: 86_400_000 }),
  limitShare: z
    .number()
    .gt(0)
    .max(1)
    .default(0.8)
    .meta({
      description:
        "How close to a limit is close: alerts fire above this share of pgbouncer.maxClientConn, of PostgreSQL's connection budget (maxConnections − superuserReservedConnections − headroomConnections), of redis.maxClients and of pgbouncer.queryWaitTimeout.",
      kind: "number 0..1",
    } satisfies FieldDoc),
});

/** TLS protocol versions as PostgreSQL's ssl_min_protocol_version names them. */
export const TLS_VERSIONS = ["TLSv1.2", "TLSv1.3"] as const;
const DAY_MS = 86_400_000;

/**
 * TLS on every connection: one CA per stack, a leaf per server (and one for clients), renewed while the
 * stack runs. On by default; `enabled: false` is for measuring what TLS costs (the benchmark's "off" run).
 */
export const tlsSchema = z.strictObject({
  enabled: bool(true, "TLS on every connection: app and exporters to PgBouncer, PostgreSQL and Redis, PgBouncer to PostgreSQL; plaintext logins are refused. Off only to measure what TLS costs."),
  lifetime: duration("90d", "How long each server's (and the clients') certificate is valid. The stack's CA lives 10 years; only leaves rotate.", {
    min: 60_000,
    max: 825 * DAY_MS,
  }),
  renewBefore: duration("30d", "A leaf this close to its end is replaced while the stack runs (the servers reload it; no connection is dropped).", {
    min: 10_000,
    max: 825 * DAY_MS,
  }),
  minVersion: choice(TLS_VERSIONS, "TLSv1.2", "The oldest TLS version any server accepts (PostgreSQL ssl_min_protocol_version, PgBouncer *_tls_protocols, Redis tls-protocols)."),
  clientCertificates: bool(
    false,
    "Clients must also present a certificate signed by the stack's CA (PostgreSQL clientcert=verify-ca, PgBouncer client_tls_sslmode verify-full, Redis tls-auth-clients yes), on top of their passwords.",
  ),
});

export const rawStackSchema = z.strictObject({
  namespace: dnsLabel("pooling", "Kubernetes namespace for every resource."),
  postgres: postgresSchema.prefault({}),
  pgbouncer: pgbouncerSchema.prefault({}),
  redis: redisSchema.prefault({}),
  probe: probeSchema.prefault({}),
  monitoring: monitoringSchema.prefault({}),
  tls: tlsSchema.prefault({}),
  cluster: clusterSchema.prefault({}),
});

/**
 * Keys that existed once, with why they went: a stack file that still sets one is told that, rather than
 * that the key is misspelt.
 */
export const REMOVED_KEYS: ReadonlyMap<string, string> = new Map([
  [
    "probe.redisPoolMax",
    "this key was removed: it set nothing, because the probe always opens exactly one auto-pipelined Redis connection, which beat pools of 4 and 10 connections when measured (app-probe/README.md). Delete it from the stack file.",
  ],
]);

export const SECTIONS = {
  postgres: postgresSchema,
  pgbouncer: pgbouncerSchema,
  redis: redisSchema,
  probe: probeSchema,
  monitoring: monitoringSchema,
  tls: tlsSchema,
  cluster: clusterSchema,
} as const;

/** The stack config as parsed: durations in milliseconds, sizes in bytes, optional derived values unset. */
export type ParsedStackConfig = z.output<typeof rawStackSchema>;
