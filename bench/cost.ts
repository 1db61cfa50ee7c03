/**
 * Where each transaction's cost is paid: the stack's PostgreSQL CPU per transaction against pgbench's
 * through the same PgBouncer at the same busy-backend count, and at the top client level against the
 * peak, which part's cost per transaction grew. Pure functions over measured points.
 */
import type { ScenarioPoint } from "./results.ts";
import type { Points, Target } from "./summary.ts";

/** Target: the stack's PostgreSQL CPU per transaction at most this many times pgbench's. */
export const PROTOCOL_COST_TARGET = 1.1;

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r1 = (x: number) => Math.round(x * 10) / 10;

/** The candidate whose mean busy backends is nearest `busy`; on a tie, the one with more clients. */
export function nearestByBusy(busy: number, candidates: readonly ScenarioPoint[]): ScenarioPoint | undefined {
  let best: ScenarioPoint | undefined;
  for (const c of candidates) {
    if (c.cpuPerTransactionUs === undefined || c.transactions <= 0) continue;
    const d = Math.abs(c.busyBackends.mean - busy);
    const bd = best ? Math.abs(best.busyBackends.mean - busy) : Number.POSITIVE_INFINITY;
    if (d < bd || (d === bd && best !== undefined && c.clients > best.clients)) best = c;
  }
  return best;
}

/** Per request: PostgreSQL transactions and rows read, from pg_stat_database; null where not counted. */
export interface StatementShape {
  xactsPerTransaction: number | null;
  tuplesReturnedPerTransaction: number | null;
  tuplesFetchedPerTransaction: number | null;
}

export function statementShape(p: ScenarioPoint): StatementShape {
  const per = (v: number | undefined) => (v === undefined || p.transactions <= 0 ? null : r3(v / p.transactions));
  return {
    xactsPerTransaction: per(p.database?.xacts),
    tuplesReturnedPerTransaction: per(p.database?.tupReturned),
    tuplesFetchedPerTransaction: per(p.database?.tupFetched),
  };
}

export interface ProtocolCost {
  stackClients: number;
  stackBusyBackends: number;
  /** The pgbench-through-PgBouncer point matched by nearest mean busy backends. */
  pgbenchClients: number;
  pgbenchBusyBackends: number;
  stackPostgresUs: number;
  pgbenchPostgresUs: number;
  /** stack ÷ pgbench PostgreSQL CPU per transaction. */
  ratio: number;
  /**
   * The same ratio against every pgbench-pgbouncer point, lowest and highest: how much the choice of
   * the match matters (mean busy backends are a fraction of one where a statement takes microseconds).
   */
  ratioRange: [number, number];
  met: boolean;
  stackShape: StatementShape;
  pgbenchShape: StatementShape;
  /** What the ratio is made of, from the figures; empty when the target is met. */
  explanation: string[];
}

/**
 * The stack point (at `clients`) against the pgbench-pgbouncer point nearest in busy backends: what the
 * clients' protocol and the pool settings add on the server. undefined when either is missing.
 */
export function protocolCost(stack: ScenarioPoint | undefined, pgbench: readonly ScenarioPoint[]): ProtocolCost | undefined {
  const s = stack?.cpuPerTransactionUs;
  if (!stack || !s || stack.transactions <= 0) return undefined;
  const match = nearestByBusy(stack.busyBackends.mean, pgbench);
  const m = match?.cpuPerTransactionUs;
  if (!match || !m || m.postgres <= 0) return undefined;
  const ratio = r3(s.postgres / m.postgres);
  const all = pgbench.flatMap((p) => (p.cpuPerTransactionUs && p.cpuPerTransactionUs.postgres > 0 ? [r3(s.postgres / p.cpuPerTransactionUs.postgres)] : []));
  const stackShape = statementShape(stack);
  const pgbenchShape = statementShape(match);
  const met = ratio <= PROTOCOL_COST_TARGET;
  return {
    stackClients: stack.clients,
    stackBusyBackends: stack.busyBackends.mean,
    pgbenchClients: match.clients,
    pgbenchBusyBackends: match.busyBackends.mean,
    stackPostgresUs: s.postgres,
    pgbenchPostgresUs: m.postgres,
    ratio,
    ratioRange: [Math.min(...all), Math.max(...all)],
    met,
    stackShape,
    pgbenchShape,
    explanation: met ? [] : explainRatio(ratio, stackShape, pgbenchShape),
  };
}

/**
 * Splits a ratio above target into more statements per request (transactions and rows PostgreSQL
 * counted per request, stack ÷ pgbench) and a higher cost of each (the rest). Only what was measured.
 */
export function explainRatio(ratio: number, stack: StatementShape, pgbench: StatementShape): string[] {
  const rel = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : r3(a / b));
  const xacts = rel(stack.xactsPerTransaction, pgbench.xactsPerTransaction);
  const rows = rel(stack.tuplesReturnedPerTransaction, pgbench.tuplesReturnedPerTransaction);
  const out: string[] = [];
  if (xacts === null) {
    out.push("PostgreSQL transactions per request were not counted, so the ratio cannot be split into more statements and dearer statements.");
    return out;
  }
  out.push(
    `PostgreSQL counted ${stack.xactsPerTransaction} transactions per stack request against ${pgbench.xactsPerTransaction} per pgbench transaction (${xacts}×)` +
      (rows === null ? "." : ` and ${stack.tuplesReturnedPerTransaction} rows returned against ${pgbench.tuplesReturnedPerTransaction} (${rows}×).`),
  );
  const perStatement = r3(ratio / xacts);
  out.push(
    xacts > 1.05
      ? `More transactions per request account for ${xacts}× of the ${ratio}×; each transaction costs ${perStatement}× pgbench's.`
      : `The requests send PostgreSQL as many transactions as pgbench does, so the ${ratio}× is the cost of each one (${perStatement}×): the same statement costs more as the stack's clients send it (pg_stat_statements is not available to split it further).`,
  );
  return out;
}

/**
 * The parts a transaction's machine time is split into, µs per transaction: the named servers, the
 * load, the bench's own process, the ksoftirqd threads, every other process, the busy time no process
 * was charged with (attribution.ts says why there is some), and idle time.
 */
export const PARTS = ["postgres", "pgbouncer", "redis", "probe", "load", "bench", "softirqThreads", "otherProcesses", "kernelUnattributed", "idle"] as const;
export type Part = (typeof PARTS)[number];

/** µs per transaction by part; null where the point did not measure it (results from before the split). */
export type PartTimes = Record<Part, number | null>;

/** Machine time per transaction by part; the parts add up to cores ÷ tps. */
export function machineTimePerTransactionUs(p: ScenarioPoint): PartTimes | undefined {
  const c = p.cpuSeconds;
  if (p.transactions <= 0 || c.machineBusy === undefined || c.machineIdle === undefined) return undefined;
  const split = c.otherProcesses !== undefined;
  const us = (v: number | undefined) => (v === undefined ? (split ? 0 : null) : r1((v * 1e6) / p.transactions));
  return Object.fromEntries(PARTS.map((part) => [part, us(part === "idle" ? c.machineIdle : c[part])])) as PartTimes;
}

export interface Growth {
  peakClients: number;
  topClients: number;
  peakTps: number;
  topTps: number;
  peak: PartTimes;
  top: PartTimes;
  /** top − peak, µs per transaction, by part; null where either point did not measure the part. */
  delta: PartTimes;
  /** The part whose time per transaction grew the most. */
  grewMost: Part;
}

/**
 * The stack's top client level against its peak-throughput level: machine time per transaction is
 * cores ÷ tps, so the throughput lost is exactly the growth of the parts, and the largest one names
 * where it went. undefined when the top level is the peak or a figure is missing.
 */
export function growthAtTop(stackPoints: readonly ScenarioPoint[]): Growth | undefined {
  if (stackPoints.length < 2) return undefined;
  const top = stackPoints.reduce((a, p) => (p.clients > a.clients ? p : a));
  const peak = stackPoints.reduce((a, p) => (p.tps > a.tps ? p : a));
  if (top === peak) return undefined;
  const t = machineTimePerTransactionUs(top);
  const k = machineTimePerTransactionUs(peak);
  if (!t || !k) return undefined;
  const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : r1(a - b));
  const delta = Object.fromEntries(PARTS.map((part) => [part, diff(t[part], k[part])])) as PartTimes;
  const grewMost = PARTS.reduce((a, part) => ((delta[part] ?? -Infinity) > (delta[a] ?? -Infinity) ? part : a));
  return { peakClients: peak.clients, topClients: top.clients, peakTps: peak.tps, topTps: top.tps, peak: k, top: t, delta, grewMost };
}

export interface CostSummary {
  /** The stack at the reference level against pgbench through PgBouncer. */
  protocol?: ProtocolCost;
  /** The stack's top level against its peak. */
  growth?: Growth;
}

export function costSummary(points: Points, referenceClients: number): CostSummary {
  const protocol = protocolCost(points.at("stack", referenceClients), points.of("pgbench-pgbouncer"));
  const growth = growthAtTop(points.of("stack"));
  return { ...(protocol ? { protocol } : {}), ...(growth ? { growth } : {}) };
}

export function protocolCostTarget(c: ProtocolCost | undefined, referenceClients: number): Target {
  const target = `At ${referenceClients.toLocaleString("en-US")} clients: the stack's PostgreSQL CPU per transaction ≤ ${PROTOCOL_COST_TARGET}× pgbench's through PgBouncer at the same busy backends`;
  if (!c) return { target, measured: "not measured (no stack point at this level, or no pgbench-pgbouncer point)", met: null };
  return {
    target,
    measured: `${c.ratio}×: ${c.stackPostgresUs} µs (stack, ${c.stackClients} clients, ${c.stackBusyBackends} busy backends on average) vs ${c.pgbenchPostgresUs} µs (pgbench-pgbouncer ${c.pgbenchClients} clients, ${c.pgbenchBusyBackends} busy, the nearest); ${c.ratioRange[0]}–${c.ratioRange[1]}× against every pgbench-pgbouncer point`,
    met: c.met,
  };
}
