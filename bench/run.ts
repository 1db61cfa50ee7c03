/**
 * Runs every scenario of the plan against the two stacks, one point at a time, interleaved per level
 * so that slow drift on a shared machine hits every scenario alike. Progress goes to `say`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { clientTlsOf } from "../local/stack.ts";
import { runLoad } from "./load.ts";
import { pgbenchSelect } from "./pgbench.ts";
import type { Plan } from "./plan.ts";
import { plannedPoints } from "./plan.ts";
import type { Job, Mode } from "./protocol.ts";
import { pointFromLoad, pointFromPgbench, type ScenarioName, type ScenarioPoint } from "./results.ts";
import { Sampler } from "./sampler.ts";
import type { BenchStack, BenchStacks } from "./stacks.ts";
import type { Upstream } from "./upstream.ts";

/** Backends report to pg_stat_database when idle, at most once a second. */
const STATS_FLUSH_MS = 1100;
/** A 10,000-client storm's leftover logins can take PostgreSQL more than 30 s to work off. */
const SETTLE_TIMEOUT_MS = 90_000;

/** The PgBouncer URL when `url` goes through the stack's PgBouncer. */
const pooled = (target: BenchStack, url: string) => (url === target.stack.pgbouncer.url ? url : undefined);

/** One line of progress: the point's headline figures. */
export function describePoint(p: ScenarioPoint): string {
  const errors = p.errors === 0 ? "0 errors" : `${p.errors} errors (${Object.entries(p.errorsByKind).map(([k, v]) => `${k} ${v}`).join(", ")})`;
  const cpu = p.cpuPerTransactionUs ? `, CPU µs/tx postgres ${p.cpuPerTransactionUs.postgres} pgbouncer ${p.cpuPerTransactionUs.pgbouncer} load ${p.cpuPerTransactionUs.load}` : "";
  return (
    `${p.name} ${p.clients} clients: ${p.tps} tps, p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms, ${errors}, ` +
    `backends ≤ ${p.peakBackends} (busy ≤ ${p.busyBackends.peak}, mean ${p.busyBackends.mean}), opened ${p.connectionsOpened}, reuse ${(p.reuseRatio * 100).toFixed(2)}%${cpu}`
  );
}

/** Waits until the server is quiet, and says so when it is not within the timeout. */
export async function settle(target: BenchStack, name: string, say: (m: string) => void): Promise<void> {
  if (!(await target.monitor.settle(SETTLE_TIMEOUT_MS))) say(`PostgreSQL (${name}) was still busy ${SETTLE_TIMEOUT_MS / 1000}s after the previous point; measuring anyway`);
}

/** One load point against `spec.target`, sampled from the moment the load begins. */
export async function measureLoad(plan: Plan, spec: PointSpec, maxConnections: number, signal: AbortSignal): Promise<ScenarioPoint> {
  signal.throwIfAborted();
  const tls = spec.url.startsWith("rediss://") ? clientTlsOf(spec.target.stack) : undefined;
  const job: Job = {
    mode: spec.mode,
    url: spec.url,
    ...(tls ? { tls } : {}),
    instances: spec.instances,
    clients: spec.clients,
    poolMax: plan.poolMax,
    poolIdleTimeoutMs: plan.poolIdleTimeoutMs,
    connectionTimeoutMs: plan.connectionTimeoutMs,
    httpMaxSockets: plan.httpMaxSockets,
    httpKeepAliveTimeoutMs: plan.httpKeepAliveTimeoutMs,
    rows: spec.target.rows,
    durationMs: spec.durationMs,
    drainMs: plan.drainMs,
    errorBackoffMs: plan.errorBackoffMs,
  };
  const sampler = new Sampler(spec.target.monitor);
  let stopped = false;
  try {
    const load = await runLoad(job, spec.processes ?? plan.loadProcesses, () => sampler.start(), signal);
    stopped = true;
    const pg = spec.mode.startsWith("pg-");
    const server = await sampler.stop(pg ? STATS_FLUSH_MS : 0, pooled(spec.target, spec.url));
    return pointFromLoad(
      { name: spec.name, clients: spec.clients, instances: spec.instances, maxConnections, serverSessions: pg, acquires: pg || spec.mode === "redis-new" },
      load,
      server,
    );
  } finally {
    if (!stopped) await sampler.stop(0).catch(() => undefined);
  }
}

export interface PointSpec {
  name: ScenarioName;
  target: BenchStack;
  mode: Mode;
  url: string;
  clients: number;
  instances: number;
  durationMs: number;
  processes?: number;
}

export class Runner {
  readonly points: ScenarioPoint[] = [];
  private done = 0;
  private readonly total: number;

  constructor(
    private readonly plan: Plan,
    private readonly stacks: BenchStacks,
    private readonly say: (m: string) => void,
    private readonly signal: AbortSignal,
  ) {
    this.total = plannedPoints(plan);
  }

  private progress(p: ScenarioPoint): void {
    this.done++;
    this.say(`[${this.done}/${this.total}] ${describePoint(p)}`);
  }

  /**
   * Every PostgreSQL quiet before a point starts, not only the one it measures: the servers share the
   * cores, and one still working off a connection storm would slow the next point on another.
   */
  private async settleAll(): Promise<void> {
    const { main, storm, raised } = this.stacks;
    for (const [name, s] of [["main", main], ["storm", storm], ["raised", raised]] as const) await settle(s, name, this.say);
  }

  private maxConnections(t: BenchStack): number {
    return t === this.stacks.raised ? this.stacks.maxConnections.raised : this.stacks.maxConnections.main;
  }

  private async point(spec: PointSpec): Promise<ScenarioPoint> {
    this.signal.throwIfAborted();
    await this.settleAll();
    const p = await measureLoad(this.plan, spec, this.maxConnections(spec.target), this.signal);
    this.points.push(p);
    this.progress(p);
    return p;
  }

  async pgbench(): Promise<void> {
    const main = this.stacks.main;
    for (const [name, url] of [["pgbench-direct", main.stack.postgres.appUrl], ["pgbench-pgbouncer", main.stack.pgbouncer.url]] as const) {
      for (const clients of this.plan.pgbenchClients) {
        this.signal.throwIfAborted();
        await this.settleAll();
        const sampler = new Sampler(main.monitor);
        await sampler.start();
        const r = await pgbenchSelect(url, clients, this.plan.pgbenchSeconds, this.signal).catch(async (err: unknown) => {
          await sampler.stop(0).catch(() => undefined);
          throw err;
        });
        const server = await sampler.stop(STATS_FLUSH_MS, pooled(main, url));
        const p = pointFromPgbench({ name, clients, instances: 1, maxConnections: this.stacks.maxConnections.main }, r, server);
        this.points.push(p);
        this.progress(p);
      }
    }
  }

  /** before, stack, app-pool-direct (raised) and app-pool-direct at the default max_connections, level by level. */
  async postgres(): Promise<void> {
    const { main, raised, storm } = this.stacks;
    const { instances, durationMs } = this.plan;
    let defaultMaxFailedAt: number | undefined;
    await this.point({ name: "before-serial", target: storm, mode: "pg-new", url: storm.stack.postgres.appUrl, clients: 1, instances: 1, processes: 1, durationMs: this.plan.serialDurationMs });
    for (const clients of this.plan.levels) {
      const base = { clients, instances, durationMs };
      await this.point({ ...base, name: "before", target: storm, mode: "pg-new", url: storm.stack.postgres.appUrl });
      await this.point({ ...base, name: "stack", target: main, mode: "pg-pool", url: main.stack.pgbouncer.url });
      await this.point({ ...base, name: "app-pool-direct", target: raised, mode: "pg-pool", url: raised.stack.postgres.appUrl });
      // Once it fails at the default max_connections it fails at every higher level too: the pools only grow.
      if (defaultMaxFailedAt === undefined) {
        const p = await this.point({ ...base, name: "app-pool-direct-default-max", target: storm, mode: "pg-pool", url: storm.stack.postgres.appUrl });
        if (p.errors > 0) defaultMaxFailedAt = clients;
      } else {
        this.done++;
        this.say(`[${this.done}/${this.total}] app-pool-direct-default-max ${clients} clients: skipped, it already fails at ${defaultMaxFailedAt}`);
      }
      await sleep(500);
    }
  }

  async sideScenarios(upstream: Upstream): Promise<void> {
    const { main } = this.stacks;
    const side = { clients: this.plan.sideClients, instances: this.plan.sideInstances, durationMs: this.plan.sideDurationMs, target: main };
    await this.point({ ...side, name: "http-keepalive", mode: "http-keepalive", url: upstream.url });
    await this.point({ ...side, name: "http-new-connection", mode: "http-new", url: upstream.url });
    await this.point({ ...side, name: "redis-shared", mode: "redis-shared", url: main.stack.redis.url });
    await this.point({ ...side, name: "redis-new-connection", mode: "redis-new", url: main.stack.redis.url });
  }
}
