/**
 * The alerting rules proven live: each fault is held on the local stack until the alerts it should raise
 * are firing in the stack's real Prometheus (`/api/v1/alerts`), then undone until they have cleared, and
 * no alert outside the fault's own set may fire meanwhile. Waits are on Prometheus' answers and on
 * connection counts, each with a deadline; nothing sleeps a fixed time.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import pg from "pg";
import { shareOf } from "../../infra/render/index.ts";
import type { LocalMonitoring } from "../../local/monitoring.ts";
import type { LocalStack } from "../../local/stack.ts";
import { FAST_MONITORING, redisTls } from "./stack.ts";

/**
 * Short intervals so an alert fires in seconds, and small limits so a fault needs few connections. The
 * thresholds still come from these values through the same renderer (maxConnections 60 → the budget
 * alert above 0.8 × 47; maxClientConn 200 → above 160; maxclients 50 → above 40; queryWaitTimeout 10 s →
 * above 8 s; serverConnectTimeout must stay below queryWaitTimeout).
 */
export const ALERT_OVERRIDES = {
  postgres: { maxConnections: 60 },
  pgbouncer: { maxClientConn: 200, queryWaitTimeout: "10s", serverConnectTimeout: "5s" },
  redis: { maxClients: 50 },
  monitoring: FAST_MONITORING,
};

interface ActiveAlert {
  labels: { alertname: string };
  state: "pending" | "firing";
}

/** Polls Prometheus' active alerts and keeps when each alert was first and last seen firing. */
export class AlertWatch {
  private timer: Promise<void> | undefined;
  private stopped = false;
  /** Every poll: when, and which alerts were active in which state. */
  readonly polls: Array<{ at: number; firing: Set<string>; active: Set<string> }> = [];

  constructor(
    private readonly prometheusUrl: string,
    private readonly everyMs = 100,
  ) {}

  async active(): Promise<ActiveAlert[]> {
    const res = await fetch(`${this.prometheusUrl}/api/v1/alerts`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`Prometheus /api/v1/alerts: ${res.status}`);
    return ((await res.json()) as { data: { alerts: ActiveAlert[] } }).data.alerts;
  }

  start(): this {
    this.timer = (async () => {
      while (!this.stopped) {
        const at = Date.now();
        const alerts = await this.active().catch(() => undefined);
        if (alerts) this.polls.push({ at, firing: new Set(alerts.filter((a) => a.state === "firing").map((a) => a.labels.alertname)), active: new Set(alerts.map((a) => a.labels.alertname)) });
        await sleep(this.everyMs);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.timer;
  }

  /** Resolves with the poll time at which `test` first holds, after `since`. */
  async until(what: string, since: number, test: (p: { firing: Set<string>; active: Set<string> }) => boolean, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.polls.length; seen++) {
        const p = this.polls[seen]!;
        if (p.at >= since && test(p)) return p.at;
      }
      if (Date.now() > deadline) {
        const last = this.polls.at(-1);
        const firing = [...(last?.firing ?? [])];
        const pending = [...(last?.active ?? [])].filter((a) => !last?.firing.has(a));
        const list = (names: string[]) => (names.length === 0 ? "none" : names.join(", "));
        throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}; last seen firing: ${list(firing)}, pending: ${list(pending)}`);
      }
      await sleep(this.everyMs);
    }
  }

  /** Every alert seen firing between the two times. */
  firingBetween(from: number, to: number): Set<string> {
    return new Set(this.polls.filter((p) => p.at >= from && p.at <= to).flatMap((p) => [...p.firing]));
  }

  /** Alerts seen pending between the two times that never fired then: their `for` held them back. */
  pendingOnlyBetween(from: number, to: number): string[] {
    const firing = this.firingBetween(from, to);
    return [...new Set(this.polls.filter((p) => p.at >= from && p.at <= to).flatMap((p) => [...p.active]))].filter((a) => !firing.has(a));
  }

  /**
   * For an alert that fired between `start` and `end`: ms from `start` to its first firing poll, and
   * from `undoneAt` to the first poll after its last firing one that no longer shows it (undefined when
   * no poll up to `end` does: it has not cleared).
   */
  timing(alert: string, start: number, undoneAt: number, end = Infinity): FiredAlert {
    const polls = this.polls.filter((p) => p.at >= start && p.at <= end);
    const firing = polls.filter((p) => p.firing.has(alert));
    if (firing.length === 0) throw new Error(`${alert} was not seen firing`);
    const lastFiring = firing.at(-1)!.at;
    const clearedAt = polls.find((p) => p.at > lastFiring && !p.active.has(alert))?.at;
    return { alert, fireMs: firing[0]!.at - start, clearMs: clearedAt === undefined ? undefined : Math.max(0, clearedAt - undoneAt) };
  }
}

/** An alert seen firing: ms from the fault's start to firing, and from its undoing to cleared (undefined: it did not clear). */
export interface FiredAlert {
  alert: string;
  fireMs: number;
  clearMs: number | undefined;
}

export interface AlertFaultContext {
  stack: LocalStack;
  monitoring: LocalMonitoring;
  say: (m: string) => void;
}

export interface AlertFault {
  name: string;
  /** Alerts that must fire during the fault and clear after it. */
  expect: string[];
  /** Alerts that follow from the fault and may fire too (a saturated pool makes a client wait). */
  allow?: string[];
  /** Applies the fault; resolves with how to undo it once the alerts fired. */
  apply(ctx: AlertFaultContext): Promise<() => Promise<void>>;
}

/** `n` clients through PgBouncer, each in `SELECT pg_sleep(…)`; undone by cancelling them and disconnecting. */
async function sleepers(stack: LocalStack, n: number, seconds: number): Promise<() => Promise<void>> {
  const clients = Array.from({ length: n }, () => new pg.Client({ connectionString: stack.pgbouncer.url }));
  for (const c of clients) c.on("error", () => undefined);
  await Promise.all(clients.map((c) => c.connect()));
  const running = clients.map((c) => c.query(`SELECT pg_sleep(${seconds})`).catch(() => undefined));
  return async () => {
    const admin = new pg.Client({ connectionString: stack.postgres.url });
    await admin.connect();
    try {
      await admin.query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%' AND pid <> pg_backend_pid()");
    } finally {
      await admin.end();
    }
    await Promise.all(running);
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  };
}

/** `n` idle PostgreSQL-protocol connections to `url`, closed on undo. */
async function idleClients(url: string, n: number): Promise<() => Promise<void>> {
  const clients = Array.from({ length: n }, () => new pg.Client({ connectionString: url }));
  for (const c of clients) c.on("error", () => undefined);
  const undo = async () => void (await Promise.all(clients.map((c) => c.end().catch(() => undefined))));
  try {
    await Promise.all(clients.map((c) => c.connect()));
  } catch (err) {
    await undo();
    throw err;
  }
  return undo;
}

const stopped = (svc: { stop(): Promise<void>; start(): Promise<void> } | undefined) => async () => {
  if (!svc) throw new Error("the service is not running");
  await svc.stop();
  return () => svc.start();
};

export const ALERT_FAULTS: AlertFault[] = [
  {
    name: "PgBouncer stopped",
    expect: ["PgBouncerDown", "ProbeNotReady"],
    apply: ({ stack }) => stopped(stack.services.pgbouncer)(),
  },
  {
    name: "PostgreSQL stopped",
    expect: ["PostgresDown", "ProbeNotReady"],
    // The probe's readiness query waits in PgBouncer for a server that cannot log in.
    allow: ["PgBouncerClientsWaiting", "PgBouncerWaitNearTimeout"],
    apply: ({ stack }) => stopped(stack.services.postgres)(),
  },
  {
    name: "Redis stopped",
    expect: ["RedisDown", "ProbeNotReady"],
    apply: ({ stack }) => stopped(stack.services.redis)(),
  },
  {
    name: "Redis exporter stopped",
    expect: ["TargetDown"],
    apply: ({ monitoring }) => stopped(monitoring.services["redis-exporter"])(),
  },
  {
    name: "Pool saturated: defaultPoolSize clients in long queries",
    expect: ["PgBouncerPoolSaturated"],
    // Until reserve_pool_timeout opens the reserve pool, the probe's readiness query waits.
    allow: ["PgBouncerClientsWaiting", "ProbeNotReady"],
    apply: ({ stack }) => sleepers(stack, stack.config.pgbouncer.defaultPoolSize, 25),
  },
  {
    name: "Clients held past the pool: every server connection busy, two more clients waiting",
    expect: ["PgBouncerPoolSaturated", "PgBouncerClientsWaiting", "PgBouncerWaitNearTimeout", "ProbeNotReady"],
    apply: ({ stack }) => sleepers(stack, stack.config.pgbouncer.defaultPoolSize + stack.config.pgbouncer.reservePoolSize + 2, 25),
  },
  {
    name: "Client connections past limitShare of maxClientConn",
    expect: ["PgBouncerClientConnectionsHigh"],
    apply: ({ stack }) => idleClients(stack.pgbouncer.url, shareOf(stack.config.pgbouncer.maxClientConn, stack.config.monitoring.limitShare) + 1),
  },
  {
    name: "Direct connections past limitShare of PostgreSQL's connection budget",
    expect: ["PostgresBackendsNearBudget"],
    apply: ({ stack }) => {
      const pgc = stack.config.postgres;
      return idleClients(stack.postgres.appUrl, shareOf(pgc.maxConnections - pgc.superuserReservedConnections - pgc.headroomConnections, stack.config.monitoring.limitShare) + 1);
    },
  },
  {
    name: "Redis clients past limitShare of maxclients",
    expect: ["RedisClientsNearMax"],
    async apply({ stack }) {
      const n = shareOf(stack.config.redis.maxClients, stack.config.monitoring.limitShare) + 1;
      const clients = Array.from({ length: n }, () => new Redis(stack.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, ...redisTls(stack) }));
      for (const c of clients) c.on("error", () => undefined);
      await Promise.all(clients.map((c) => c.connect()));
      return async () => {
        for (const c of clients) c.disconnect();
      };
    },
  },
];

export interface AlertResult {
  fault: string;
  expected: string[];
  /** Per expected alert: ms from the fault's start to firing, and from its undoing to cleared. */
  alerts: Array<{ alert: string; fireMs: number; clearMs: number }>;
  /** Allowed alerts that fired too. */
  alsoFired: string[];
  /** Alerts outside the fault's set that fired: must be empty. */
  unexpected: string[];
}

export interface AlertRunOptions {
  stack: LocalStack;
  monitoring: LocalMonitoring;
  faults?: AlertFault[];
  say: (m: string) => void;
  /** How long an alert may take to fire, or to clear. */
  timeoutMs?: number;
}

/** Runs each fault: fired, undone, cleared, with every alert Prometheus showed meanwhile checked. */
export async function runAlertFaults(opts: AlertRunOptions): Promise<AlertResult[]> {
  const { say } = opts;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const watch = new AlertWatch(opts.monitoring.prometheusUrl).start();
  const results: AlertResult[] = [];
  try {
    // Prometheus has just started: its first scrapes may not have arrived. Start from no active alert.
    await watch.until("no active alert before the first fault", Date.now(), (p) => p.active.size === 0, timeoutMs);
    for (const fault of opts.faults ?? ALERT_FAULTS) {
      say(`alert fault: ${fault.name}`);
      const start = Date.now();
      const undo = await fault.apply({ stack: opts.stack, monitoring: opts.monitoring, say });
      try {
        await watch.until(`${fault.expect.join(", ")} firing`, start, (p) => fault.expect.every((a) => p.firing.has(a)), timeoutMs);
      } finally {
        await undo();
      }
      const undoneAt = Date.now();
      const own = new Set([...fault.expect, ...(fault.allow ?? [])]);
      // Cleared: nothing of the fault's set active any more, and every other alert too (the next fault starts clean).
      await watch.until(`${fault.expect.join(", ")} to clear`, undoneAt, (p) => p.active.size === 0, timeoutMs);
      const end = Date.now();
      const fired = watch.firingBetween(start, end);
      const result: AlertResult = {
        fault: fault.name,
        expected: fault.expect,
        // The last poll showed no active alert, so each of them has a clearing poll.
        alerts: fault.expect.map((alert) => {
          const t = watch.timing(alert, start, undoneAt);
          return { ...t, clearMs: t.clearMs ?? Math.max(0, end - undoneAt) };
        }),
        alsoFired: [...fired].filter((a) => !fault.expect.includes(a) && own.has(a)),
        unexpected: [...fired].filter((a) => !own.has(a)),
      };
      results.push(result);
      say(`  ${result.alerts.map((a) => `${a.alert} fired after ${(a.fireMs / 1000).toFixed(1)} s, cleared ${(a.clearMs / 1000).toFixed(1)} s after the fault was undone`).join("; ")}${result.unexpected.length > 0 ? `; UNEXPECTED: ${result.unexpected.join(", ")}` : ""}`);
    }
  } finally {
    await watch.stop();
  }
  return results;
}
