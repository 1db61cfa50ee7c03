/** The figures of one scenario point, built from what the load processes and the sampler saw. */
import { withUnattributed, type ProcessUse } from "./attribution.ts";
import { ErrorCounts } from "./errors.ts";
import type { CostSummary } from "./cost.ts";
import type { LoadResult } from "./load.ts";
import type { Machine } from "./machine.ts";
import type { Plan } from "./plan.ts";
import type { Ratios, Target } from "./summary.ts";
import type { SweepResult } from "./sweep.ts";
import type { tlsSummary, TlsComparison } from "./tls.ts";
import type { PgbenchResult } from "./pgbench.ts";
import type { DatabaseCounts, ServerFigures } from "./sampler.ts";

export const SCENARIOS = {
  "before-serial": "one client, a new PostgreSQL connection per request: the uncontended cost of setting one up",
  before: "new PostgreSQL connection per request, straight to PostgreSQL (SCRAM), default max_connections",
  "app-pool-direct": "K app instances, each with its own node-postgres Pool, straight to PostgreSQL with max_connections raised",
  "app-pool-direct-default-max": "the same pools straight to PostgreSQL at the default max_connections (where it fails)",
  stack: "the same K instances and pools through PgBouncer (transaction mode, project defaults)",
  "pgbench-direct": "pgbench -S -M extended straight to PostgreSQL",
  "pgbench-pgbouncer": "pgbench -S -M extended through the same PgBouncer",
  "http-keepalive": "GET /upstream with the probe's undici keep-alive Agent per instance",
  "http-new-connection": "GET /upstream on a new connection per request",
  "redis-shared": "INCR on the probe's single auto-pipelined ioredis connection per instance",
  "redis-new-connection": "INCR on a new Redis connection (with AUTH) per operation",
} as const;

export type ScenarioName = keyof typeof SCENARIOS;

export interface ScenarioPoint {
  name: ScenarioName;
  clients: number;
  tps: number;
  p50Ms: number;
  p99Ms: number;
  /** Failed requests, all kinds. */
  errors: number;
  errorsByKind: Record<string, number>;
  errorSamples: Record<string, string>;
  peakBackends: number;
  /** Backends running a statement (state active) over the samples: most and mean. Always ≤ peakBackends. */
  busyBackends: { peak: number; mean: number };
  /** Backends present when the point began (PgBouncer's idle server connections, the probe's); peak includes them. */
  baselineBackends: number;
  /** Server connections opened (pg_stat_database.sessions delta) for PostgreSQL; sockets/connections opened by the clients for HTTP and Redis. */
  connectionsOpened: number;
  transactions: number;
  reuseRatio: number;
  /** Time to get a connection (new connection or pool acquire); null where none is taken per request. */
  acquireP50Ms: number | null;
  acquireP99Ms: number | null;
  /** Connections the clients opened (to PgBouncer in the stack scenario). */
  clientConnectionsOpened: number;
  instances: number;
  loadProcesses: number;
  maxConnections: number;
  elapsedMs: number;
  unfinished: number;
  memoryKb: { pgbouncer: number; loadProcessesTotal: number; loadProcessMax: number; redis?: number; probe?: number };
  /**
   * CPU seconds by part over the point, and the machine's busy and idle seconds (all cores). Since the
   * processes are classified (attribution.ts): bench, softirqThreads, otherProcesses, kernelUnattributed
   * (busy time no process was charged with) and machineSoftirq (irq + softirq time, overlapping the rest).
   */
  cpuSeconds: Record<string, number>;
  /** The largest users of otherProcesses by command name; absent in results from before they were counted. */
  topOtherProcesses?: ProcessUse[];
  /**
   * PostgreSQL points only: CPU µs per completed transaction of PostgreSQL (postmaster and backends),
   * PgBouncer, and the load generator (the load processes, or pgbench).
   */
  cpuPerTransactionUs?: CpuPerTransaction;
  /** PostgreSQL points only: pg_stat_database's transactions and rows read over the point. */
  database?: DatabaseCounts;
  loadCpusAllowed: string[];
}

export interface CpuPerTransaction {
  postgres: number;
  pgbouncer: number;
  load: number;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** CPU µs per transaction of each part, from CPU seconds (unrounded) and the transactions completed. */
export function cpuPerTransactionUs(cpuSeconds: Record<string, number>, transactions: number): CpuPerTransaction {
  const us = (v: number | undefined) => (transactions > 0 ? round(((v ?? 0) * 1e6) / transactions, 1) : 0);
  return { postgres: us(cpuSeconds.postgres), pgbouncer: us(cpuSeconds.pgbouncer), load: us(cpuSeconds.load) };
}

const busyOf = (server: ServerFigures) => ({ peak: server.busyBackends.peak, mean: round(server.busyBackends.mean) });
const roundedCpu = (cpu: Record<string, number>) => Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v)]));

export function reuseRatio(opened: number, transactions: number): number {
  if (transactions <= 0) return 0;
  return Math.min(1, Math.max(0, 1 - opened / transactions));
}

export interface PointContext {
  name: ScenarioName;
  clients: number;
  instances: number;
  maxConnections: number;
  /** true: count PostgreSQL sessions as connections opened; false: what the clients opened. */
  serverSessions: boolean;
  /** Whether a connection is taken per request (a pool acquire or a new connection). */
  acquires: boolean;
}

export function pointFromLoad(ctx: PointContext, load: LoadResult, server: ServerFigures): ScenarioPoint {
  const seconds = load.elapsedMs / 1000;
  const opened = ctx.serverSessions ? server.sessionsOpened : load.connectionsOpened;
  const hasAcquire = ctx.acquires && load.acquire.count > 0;
  const cpu = withUnattributed({ ...server.cpuSeconds, load: load.cpuSeconds });
  return {
    name: ctx.name,
    clients: ctx.clients,
    tps: round(seconds > 0 ? load.completed / seconds : 0, 1),
    p50Ms: round(load.latency.percentile(50), 3),
    p99Ms: round(load.latency.percentile(99), 3),
    errors: ErrorCounts.total(load.errorsByKind),
    errorsByKind: load.errorsByKind,
    errorSamples: load.errorSamples,
    peakBackends: server.peakBackends,
    busyBackends: busyOf(server),
    baselineBackends: server.baselineBackends,
    connectionsOpened: opened,
    transactions: load.completed,
    reuseRatio: round(reuseRatio(opened, load.completed), 6),
    acquireP50Ms: hasAcquire ? round(load.acquire.percentile(50), 4) : null,
    acquireP99Ms: hasAcquire ? round(load.acquire.percentile(99), 4) : null,
    clientConnectionsOpened: load.connectionsOpened,
    instances: ctx.instances,
    loadProcesses: load.pids.length,
    maxConnections: ctx.maxConnections,
    elapsedMs: Math.round(load.elapsedMs),
    unfinished: load.unfinished,
    memoryKb: {
      pgbouncer: server.peakRssKb.pgbouncer ?? 0,
      loadProcessesTotal: load.rssKb.reduce((a, b) => a + b, 0),
      loadProcessMax: Math.max(0, ...load.rssKb),
      ...(server.peakRssKb.redis !== undefined ? { redis: server.peakRssKb.redis } : {}),
      ...(server.peakRssKb.probe !== undefined ? { probe: server.peakRssKb.probe } : {}),
    },
    cpuSeconds: roundedCpu(cpu),
    topOtherProcesses: server.topOtherProcesses.map((u) => ({ ...u, cpuSeconds: round(u.cpuSeconds) })),
    ...(ctx.serverSessions ? { cpuPerTransactionUs: cpuPerTransactionUs(cpu, load.completed), database: server.database } : {}),
    loadCpusAllowed: load.cpusAllowed,
  };
}

export function pointFromPgbench(ctx: Omit<PointContext, "serverSessions" | "acquires">, r: PgbenchResult, server: ServerFigures): ScenarioPoint {
  const cpu = withUnattributed({ ...server.cpuSeconds, load: r.cpuSeconds });
  return {
    name: ctx.name,
    clients: ctx.clients,
    tps: round(r.tps, 1),
    p50Ms: round(r.p50Ms, 3),
    p99Ms: round(r.p99Ms, 3),
    errors: r.failed,
    errorsByKind: r.failed > 0 ? { pgbench_failed: r.failed } : {},
    errorSamples: {},
    peakBackends: server.peakBackends,
    busyBackends: busyOf(server),
    baselineBackends: server.baselineBackends,
    connectionsOpened: server.sessionsOpened,
    transactions: r.transactions,
    reuseRatio: round(reuseRatio(server.sessionsOpened, r.transactions), 6),
    acquireP50Ms: null,
    acquireP99Ms: null,
    clientConnectionsOpened: ctx.clients,
    instances: 1,
    loadProcesses: 1,
    maxConnections: ctx.maxConnections,
    elapsedMs: Math.round(r.elapsedMs),
    unfinished: 0,
    memoryKb: { pgbouncer: server.peakRssKb.pgbouncer ?? 0, loadProcessesTotal: 0, loadProcessMax: 0 },
    cpuSeconds: roundedCpu(cpu),
    topOtherProcesses: server.topOtherProcesses.map((u) => ({ ...u, cpuSeconds: round(u.cpuSeconds) })),
    cpuPerTransactionUs: cpuPerTransactionUs(cpu, r.transactions),
    database: server.database,
    loadCpusAllowed: [],
  };
}

/**
 * results.json, as the bench writes it: the one declaration of the file's shape. The README's summary
 * reads it through a schema of the fields it needs (infra/cli/readme-performance.ts), tied to this type
 * by test/unit/readme-summaries.test.ts, and the bench's own test reads it as this type.
 */
export interface BenchResultsFile {
  machine: Machine;
  plan: Plan;
  /** The stack's TLS settings the run measured with (pooling:tls). */
  tls: { enabled: boolean; minVersion: string };
  scenarios: readonly ScenarioPoint[];
  ratios: Ratios;
  cost: CostSummary;
  /** From `--tls-compare`: the same scenarios with TLS on and off, and what TLS costs. */
  tlsComparison: (TlsComparison & { summary: ReturnType<typeof tlsSummary> }) | undefined;
  sweep: SweepResult | undefined;
  targets: Target[];
  interrupted: boolean;
  /** Why the run stopped early, when it did. */
  failure: string | undefined;
}
