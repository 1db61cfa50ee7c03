/**
 * --tls-compare: what TLS costs. Two stacks alike but for `pooling:tls.enabled`, each point run on both
 * back to back, in rounds: a new connection per request with one client (connection establishment,
 * TLS handshake included or not) and the stack scenario at the reference level (the pooled path, where
 * a pool keeps the TLS sessions it paid for). Reported, not asserted: the pooled path's cost per
 * transaction with TLS against without, and the 15%.
 */
import type { Plan } from "./plan.ts";
import type { ScenarioPoint } from "./results.ts";
import { describePoint, measureLoad, settle, type PointSpec } from "./run.ts";
import type { TlsStack, TlsStacks } from "./stacks.ts";
import type { Target } from "./summary.ts";

/** The bound on what TLS may add to the pooled path's cost per transaction. */
export const TLS_COST_BOUND = 0.15;

export interface TlsPoint extends ScenarioPoint {
  tls: boolean;
  round: number;
}

export interface TlsComparison {
  /** The stack scenario's client count (the plan's reference level). */
  level: number;
  rounds: number;
  /** pooling:tls.minVersion of the TLS stack. */
  minVersion: string;
  points: TlsPoint[];
}

export function emptyTlsComparison(plan: Plan, minVersion: string): TlsComparison {
  return { level: plan.referenceLevel, rounds: plan.tlsRounds, minVersion, points: [] };
}

/** The points of one round, in the order they run: each scenario on the TLS stack, then on the plaintext one. */
export function tlsRoundSpecs(plan: Plan, stacks: TlsStacks): Array<{ tls: boolean; spec: PointSpec }> {
  const specs: Array<{ tls: boolean; spec: PointSpec }> = [];
  for (const scenario of ["before-serial", "stack"] as const) {
    for (const target of [stacks.on, stacks.off]) {
      const spec: PointSpec =
        scenario === "before-serial"
          ? { name: scenario, target, mode: "pg-new", url: target.stack.postgres.appUrl, clients: 1, instances: 1, processes: 1, durationMs: plan.serialDurationMs }
          : { name: scenario, target, mode: "pg-pool", url: target.stack.pgbouncer.url, clients: plan.referenceLevel, instances: plan.instances, durationMs: plan.durationMs };
      specs.push({ tls: target.tls, spec });
    }
  }
  return specs;
}

/** Every round into `result.points` (an interrupted run keeps what it measured). */
export async function runTlsComparison(plan: Plan, stacks: TlsStacks, result: TlsComparison, say: (m: string) => void, signal: AbortSignal): Promise<void> {
  const specs = tlsRoundSpecs(plan, stacks);
  const total = specs.length * plan.tlsRounds;
  const label = (s: TlsStack) => (s.tls ? "tls on" : "tls off");
  for (let round = 1; round <= plan.tlsRounds; round++) {
    for (const { tls, spec } of specs) {
      signal.throwIfAborted();
      // Both servers quiet: they share the cores.
      for (const s of [stacks.on, stacks.off]) await settle(s, label(s), say);
      const p = await measureLoad(plan, spec, spec.target.stack.config.postgres.maxConnections, signal);
      result.points.push({ ...p, tls, round });
      say(`[tls ${result.points.length}/${total}] ${label(spec.target as TlsStack)}: ${describePoint(p)}`);
    }
  }
}

/** One scenario's figures with TLS on or off, over every round. */
export interface TlsSide {
  points: number;
  transactions: number;
  tps: number;
  p99Ms: number;
  /** Connection set-up (TCP, TLS when on, startup, SCRAM): median over the rounds' p50. */
  connectMs: number | null;
  /** CPU µs per transaction over every round's transactions. */
  cpuUs: { postgres: number; pgbouncer: number; load: number };
  /** PostgreSQL + PgBouncer. */
  serversUs: number;
  /** PostgreSQL + PgBouncer + the clients: the whole path's machine cost per transaction. */
  pathUs: number;
}

export interface TlsScenarioSummary {
  scenario: "before-serial" | "stack";
  clients: number;
  on: TlsSide;
  off: TlsSide;
  /** on / off; null where off is 0. */
  ratio: { postgres: number | null; pgbouncer: number | null; servers: number | null; path: number | null; tps: number | null };
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ratio = (on: number, off: number) => (off > 0 ? round(on / off, 3) : null);

/**
 * Figures of the points of one side: CPU weighted by transactions, throughput and p99 as medians, and
 * with `connects` (a new connection per request) the time to a connection.
 */
export function tlsSide(points: readonly ScenarioPoint[], connects: boolean): TlsSide {
  const transactions = points.reduce((sum, p) => sum + p.transactions, 0);
  const weighted = (part: "postgres" | "pgbouncer" | "load") =>
    transactions > 0 ? round(points.reduce((sum, p) => sum + (p.cpuPerTransactionUs?.[part] ?? 0) * p.transactions, 0) / transactions, 1) : 0;
  const cpuUs = { postgres: weighted("postgres"), pgbouncer: weighted("pgbouncer"), load: weighted("load") };
  const connect = connects ? points.map((p) => p.acquireP50Ms).filter((x): x is number => x !== null) : [];
  return {
    points: points.length,
    transactions,
    tps: points.length > 0 ? round(median(points.map((p) => p.tps)), 1) : 0,
    p99Ms: points.length > 0 ? round(median(points.map((p) => p.p99Ms)), 3) : 0,
    connectMs: connect.length > 0 ? round(median(connect), 3) : null,
    cpuUs,
    serversUs: round(cpuUs.postgres + cpuUs.pgbouncer, 1),
    pathUs: round(cpuUs.postgres + cpuUs.pgbouncer + cpuUs.load, 1),
  };
}

/** Each scenario with TLS against without; a scenario missing a side (an interrupted run) is left out. */
export function tlsSummary(cmp: TlsComparison): TlsScenarioSummary[] {
  return (["before-serial", "stack"] as const).flatMap((scenario) => {
    const of = (tls: boolean) => cmp.points.filter((p) => p.name === scenario && p.tls === tls);
    if (of(true).length === 0 || of(false).length === 0) return [];
    const on = tlsSide(of(true), scenario === "before-serial");
    const off = tlsSide(of(false), scenario === "before-serial");
    return [
      {
        scenario,
        clients: of(true)[0]!.clients,
        on,
        off,
        ratio: {
          postgres: ratio(on.cpuUs.postgres, off.cpuUs.postgres),
          pgbouncer: ratio(on.cpuUs.pgbouncer, off.cpuUs.pgbouncer),
          servers: ratio(on.serversUs, off.serversUs),
          path: ratio(on.pathUs, off.pathUs),
          tps: ratio(on.tps, off.tps),
        },
      },
    ];
  });
}

/** The target: the pooled path with TLS within 15% of its plaintext cost per transaction. */
export function tlsTarget(cmp: TlsComparison): Target {
  const target = `At ${cmp.level.toLocaleString("en-US")} clients: the stack's pooled path with TLS within ${TLS_COST_BOUND * 100}% of its plaintext cost per transaction (PostgreSQL + PgBouncer + clients' CPU)`;
  const s = tlsSummary(cmp).find((x) => x.scenario === "stack");
  if (!s || s.ratio.path === null) return { target, measured: "not measured", met: null };
  const pct = (r: number | null) => (r === null ? "n/a" : `${r >= 1 ? "+" : ""}${((r - 1) * 100).toFixed(1)}%`);
  return {
    target,
    measured: `${s.on.pathUs} µs vs ${s.off.pathUs} µs, ${pct(s.ratio.path)} (servers alone: ${s.on.serversUs} vs ${s.off.serversUs} µs, ${pct(s.ratio.servers)}); ${s.on.tps} vs ${s.off.tps} tps`,
    met: s.ratio.path <= 1 + TLS_COST_BOUND,
  };
}
