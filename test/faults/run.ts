/**
 * Runs faults one after another under steady load through the probe and measures each: requests and
 * errors during it, the error window, time to ready again, leaked connections and lost writes.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "../../lib/wait.ts";
import { Redis } from "ioredis";
import pg from "pg";
import { connectionBudget } from "../../infra/config/index.ts";
import type { StackConfig } from "../../infra/config/index.ts";
import type { LocalStack } from "../../local/stack.ts";
import { AlertWatch, type FiredAlert } from "./alerts.ts";
import { FAULTS, type Fault, type FaultAlerts, type Measured, type RotationMeasured } from "./faults.ts";
import { ProbeLoad, ReadyWatch, type Ack } from "./load.ts";
import { redisTls } from "./stack.ts";

export interface FaultResult {
  fault: string;
  outage: boolean;
  requests: number;
  errors: number;
  errorKinds: Record<string, number>;
  errorWindowMs: number;
  recoveryMs: number;
  /** Requests sent after the probe was ready again that failed: the outage is over when this is 0. */
  failedAfterReady: number;
  /** Requests sent after the probe was ready again that succeeded. */
  servedAfterReady: number;
  readinessNoticed: boolean;
  connectionsLeaked: number;
  acknowledgedWrites: number;
  writesLost: number;
  /** Writes applied more often than requests were sent for their key (a retry applied twice). */
  writesDuplicated: number;
  /** The slowest acknowledged request: how long a client waited at worst. */
  longestRequestMs: number;
  /** PostgreSQL's own time to accept connections again, where the fault restarts it. */
  postgresRestartMs?: number;
  /** Transactions the probe tried again after they failed before anything reached the server, by outcome. */
  retries?: { recovered: number; failed: number };
  /** What a certificate rotation did (generations, restarts, PgBouncer's new server sessions). */
  rotation?: RotationMeasured;
  notes: string[];
  /** What Prometheus showed from the fault's start until every alert had cleared, when it watched. */
  alerts?: FaultAlertResult;
}

export interface FaultAlertResult {
  /** Alerts the fault must fire, and those it may. */
  expected: string[];
  allowed: string[];
  /** Why nothing else must fire. */
  quiet: string;
  /** Every alert seen firing, by first firing; clearMs from the fault's undoing (absent: it did not clear). */
  fired: FiredAlert[];
  /** Expected alerts that did not fire. */
  missing: string[];
  /** Alerts that fired though the fault neither expects nor allows them: false alarms. */
  unexpected: string[];
  /** Alerts that went pending but never fired: their `for` held them back. */
  pendingOnly: string[];
}

/** A row to fail the run on: a false alarm, an expected alert that did not fire, or one that did not clear. */
export const alertsWrong = (a: FaultAlertResult | undefined) =>
  a !== undefined && (a.unexpected.length > 0 || a.missing.length > 0 || a.fired.some((f) => f.clearMs === undefined));

export interface RunOptions {
  stack: LocalStack;
  stackFile: string;
  concurrency: number;
  /** Load before and after each fault. */
  settleMs: number;
  faults?: Fault[];
  say: (m: string) => void;
  /** The stack's Prometheus: when given, its /api/v1/alerts is watched through every fault. */
  prometheusUrl?: string;
}

/** How long every alert may take to clear after a fault before the row says it did not. */
const ALERTS_CLEAR_TIMEOUT_MS = 60_000;

/**
 * Sorts what the watch saw between a fault's `start` and `end` (undone at `undoneAt`): each alert that
 * fired, timed; expected ones missing; any outside the fault's expected and allowed sets.
 */
export function sortAlerts(watch: AlertWatch, alerts: FaultAlerts, cfg: StackConfig, start: number, undoneAt: number, end: number): FaultAlertResult {
  const { expect, allow = [] } = alerts;
  const firing = watch.firingBetween(start, end);
  const fired = [...firing].map((a) => watch.timing(a, start, undoneAt, end)).sort((a, b) => a.fireMs - b.fireMs);
  return {
    expected: expect,
    allowed: allow,
    quiet: alerts.quiet(cfg),
    fired,
    missing: expect.filter((a) => !firing.has(a)),
    unexpected: fired.map((f) => f.alert).filter((a) => !expect.includes(a) && !allow.includes(a)),
    pendingOnly: watch.pendingOnlyBetween(start, end),
  };
}

/** Waits until Prometheus shows no active alert (or gives up after a minute), then sorts what fired. */
async function faultAlerts(watch: AlertWatch, fault: Fault, cfg: StackConfig, start: number, undoneAt: number, say: (m: string) => void): Promise<FaultAlertResult> {
  const quietAt = await watch.until(`every alert to clear after "${fault.name}"`, Date.now(), (p) => p.active.size === 0, ALERTS_CLEAR_TIMEOUT_MS).catch((err: Error) => {
    say(`  ${err.message}`);
    return Date.now();
  });
  return sortAlerts(watch, fault.alerts, cfg, start, undoneAt, quietAt);
}

/** When the probe answers /readyz 200 again (its clock), polled every 50 ms for `timeoutMs`. */
async function waitReady(probeUrl: string, timeoutMs = 60_000): Promise<number> {
  return waitFor(
    "the probe to be ready again",
    async () => ((await fetch(`${probeUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200 ? Date.now() : undefined),
    timeoutMs,
    50,
  );
}

/** Server connections beyond what PgBouncer may hold, once things settle (0 = none leaked). */
async function leakedConnections(stack: LocalStack): Promise<number> {
  const budget = connectionBudget(stack.config).perReplica;
  let over = 0;
  for (let i = 0; i < 100; i++) {
    const c = new pg.Client({ connectionString: stack.postgres.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1 AND backend_type = 'client backend'", [stack.config.postgres.user]);
      over = Math.max(0, Number(rows[0]!.n) - budget);
    } finally {
      await c.end();
    }
    if (over === 0) return 0;
    await sleep(100);
  }
  return over;
}

/** Acknowledged writes that are not there: probe_writes rows by id, Redis counters by key. */
export async function lostWrites(stack: LocalStack, acks: Ack[]): Promise<number> {
  if (acks.length === 0) return 0;
  const c = new pg.Client({ connectionString: stack.postgres.appUrl });
  await c.connect();
  let lost = 0;
  try {
    const ids = acks.map((a) => a.writeId);
    const { rows } = await c.query<{ id: string }>("SELECT id::text FROM probe_writes WHERE id::text = ANY($1)", [ids]);
    const found = new Set(rows.map((r) => r.id));
    lost += ids.filter((id) => !found.has(id)).length;
  } finally {
    await c.end();
  }
  const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: 1, ...redisTls(stack) });
  try {
    const keys = [...new Set(acks.map((a) => a.redisKey))];
    const values = await redis.mget(keys);
    const current = new Map(keys.map((k, i) => [k, Number(values[i] ?? 0)]));
    // A counter below an acknowledged INCR's result means that write was lost.
    lost += acks.filter((a) => a.redisValue > current.get(a.redisKey)!).length;
  } finally {
    redis.disconnect();
  }
  return lost;
}

/**
 * Writes beyond one per request sent, summed over the load's keys. Rows are counted first and requests
 * after, so a request in flight is already counted as sent.
 */
export async function duplicatedWrites(stack: LocalStack, load: ProbeLoad): Promise<number> {
  const c = new pg.Client({ connectionString: stack.postgres.appUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ key: string; n: string }>("SELECT counter_id AS key, count(*) AS n FROM probe_writes WHERE counter_id = ANY($1) GROUP BY counter_id", [[...load.sent.keys()]]);
    return rows.reduce((sum, r) => sum + Math.max(0, Number(r.n) - (load.sent.get(r.key) ?? 0)), 0);
  } finally {
    await c.end();
  }
}

/**
 * From the first failed request's send time to the last one's (0 without failures). Failures are
 * recorded as they complete, not in the order they were sent, so the extremes are taken.
 */
export function errorWindowMs(failures: ReadonlyArray<{ at: number }>): number {
  if (failures.length === 0) return 0;
  const sent = failures.map((f) => f.at);
  return Math.max(...sent) - Math.min(...sent);
}

export async function runFaults(opts: RunOptions): Promise<FaultResult[]> {
  const { stack, say } = opts;
  const probeUrl = stack.probe?.url;
  if (!probeUrl) throw new Error("the fault runner needs the local stack started with the probe");
  const load = new ProbeLoad(probeUrl, opts.concurrency, `fault-${Date.now()}`).start();
  const alertWatch = opts.prometheusUrl === undefined ? undefined : new AlertWatch(opts.prometheusUrl).start();
  const results: FaultResult[] = [];
  let duplicatedBefore = 0;
  try {
    await sleep(opts.settleMs);
    // Prometheus has just started: its first scrapes may not have arrived. Start from no active alert.
    await alertWatch?.until("no active alert before the first fault", Date.now(), (p) => p.active.size === 0, ALERTS_CLEAR_TIMEOUT_MS);
    for (const fault of opts.faults ?? FAULTS) {
      say(`fault: ${fault.name}`);
      const watch = new ReadyWatch(probeUrl).start();
      const start = Date.now();
      let notes: string[];
      const measured: Measured = {};
      let restoredAt: number;
      let readyAt: number;
      try {
        notes = await fault.apply({ stack, stackFile: opts.stackFile, say, measured, prometheusUrl: opts.prometheusUrl });
        restoredAt = Date.now();
        // Watched until the probe is ready again: an outage readiness reports only after the fault
        // is undone still counts.
        readyAt = await waitReady(probeUrl);
      } finally {
        watch.stop();
      }
      await sleep(opts.settleMs);
      const end = Date.now();
      const during = load.countSince(start);
      const failures = load.failures.filter((f) => f.at >= start && f.at <= end);
      const errorKinds: Record<string, number> = {};
      for (const f of failures) errorKinds[f.kind] = (errorKinds[f.kind] ?? 0) + 1;
      const acks = load.acks.filter((a) => a.at >= start && a.at <= end);
      results.push({
        fault: fault.name,
        outage: fault.outage,
        requests: during.requests,
        errors: failures.length,
        errorKinds,
        errorWindowMs: errorWindowMs(failures),
        recoveryMs: Math.max(0, readyAt - restoredAt),
        failedAfterReady: failures.filter((f) => f.at >= readyAt).length,
        servedAfterReady: acks.filter((a) => a.at >= readyAt).length,
        readinessNoticed: watch.notReady.some((t) => t >= start),
        connectionsLeaked: await leakedConnections(stack),
        acknowledgedWrites: acks.length,
        writesLost: await lostWrites(stack, acks),
        writesDuplicated: (await duplicatedWrites(stack, load)) - duplicatedBefore,
        // Requests that overlap the fault, also those sent just before it that it held up.
        longestRequestMs: Math.max(0, ...load.acks.filter((a) => a.at + a.ms >= start && a.at <= end).map((a) => a.ms)),
        ...measured,
        notes,
        ...(alertWatch ? { alerts: await faultAlerts(alertWatch, fault, stack.config, start, restoredAt, say) } : {}),
      });
      const r = results.at(-1)!;
      duplicatedBefore += r.writesDuplicated;
      say(`  ${during.requests} requests, ${failures.length} errors, recovered in ${readyAt - restoredAt} ms`);
      for (const note of notes) say(`  ${note}`);
      if (r.alerts) {
        const a = r.alerts;
        const fired = a.fired.map((f) => `${f.alert} fired after ${(f.fireMs / 1000).toFixed(1)} s${f.clearMs === undefined ? ", did not clear" : `, cleared ${(f.clearMs / 1000).toFixed(1)} s after the fault was undone`}`);
        say(`  alerts: ${fired.length === 0 ? "none" : fired.join("; ")}${a.pendingOnly.length > 0 ? `; pending only: ${a.pendingOnly.join(", ")}` : ""}${a.unexpected.length > 0 ? `; UNEXPECTED: ${a.unexpected.join(", ")}` : ""}${a.missing.length > 0 ? `; DID NOT FIRE: ${a.missing.join(", ")}` : ""}`);
      }
    }
  } finally {
    await Promise.all([load.stop(), alertWatch?.stop()]);
  }
  return results;
}
