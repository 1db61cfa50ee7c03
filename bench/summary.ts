/**
 * Ratios between scenarios and the issue's targets, read off the measured points. Targets are reported
 * (met, missed, or not measured), never asserted.
 */
import type { Plan } from "./plan.ts";
import type { ScenarioName, ScenarioPoint } from "./results.ts";

export interface Ratios {
  referenceClients: number;
  stackVsBeforeTps: number | null;
  stackVsAppPoolDirectTps: number | null;
  stackVsPgbenchPgbouncerTps: number | null;
  stackVsPgbenchDirectTps: number | null;
  /** Largest client count served with zero errors: stack ÷ before. */
  concurrencyGain: number | null;
  maxZeroErrorClients: Partial<Record<ScenarioName, number>>;
  /** 1 − pooled acquire p50 ÷ new connection p50, at the lowest level. */
  connectionOverheadReduction: number | null;
  /** Pooled acquire p99 (lowest level) ÷ new direct connection p50 (one client). */
  acquireP99OverNewConnection: number | null;
  httpKeepAliveVsNewConnection: number | null;
  httpSocketReuse: number | null;
  redisSharedVsNewConnection: number | null;
  byLevel: Array<{ clients: number; stackVsBeforeTps: number | null; stackVsAppPoolDirectTps: number | null }>;
}

export interface Target {
  target: string;
  measured: string;
  /** null: not measured in this run (for example --quick has no 10,000-client level). */
  met: boolean | null;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? null : r3(a / b));

export class Points {
  constructor(readonly all: readonly ScenarioPoint[]) {}

  at(name: ScenarioName, clients: number): ScenarioPoint | undefined {
    return this.all.find((p) => p.name === name && p.clients === clients);
  }

  of(name: ScenarioName): ScenarioPoint[] {
    return this.all.filter((p) => p.name === name).sort((a, b) => a.clients - b.clients);
  }

  /** The point with the highest throughput (pgbench at its best client count). */
  best(name: ScenarioName): ScenarioPoint | undefined {
    return this.of(name).reduce<ScenarioPoint | undefined>((b, p) => (b === undefined || p.tps > b.tps ? p : b), undefined);
  }

  maxZeroErrors(name: ScenarioName): number | undefined {
    const ok = this.of(name).filter((p) => p.errors === 0 && p.unfinished === 0);
    return ok.length === 0 ? (this.of(name).length > 0 ? 0 : undefined) : Math.max(...ok.map((p) => p.clients));
  }
}

/** A new direct connection's setup time (p50): uncontended (before-serial) when measured, else before at the lowest level. */
export function newConnectionMs(points: Points, low: number): number | undefined {
  return points.at("before-serial", 1)?.acquireP50Ms ?? points.at("before", low)?.acquireP50Ms ?? undefined;
}

export function computeRatios(points: Points, plan: Plan): Ratios {
  const ref = plan.referenceLevel;
  const low = Math.min(...plan.levels);
  const tps = (n: ScenarioName, c: number) => points.at(n, c)?.tps;
  const zero: Partial<Record<ScenarioName, number>> = {};
  for (const n of ["before", "stack", "app-pool-direct", "app-pool-direct-default-max"] as const) {
    const z = points.maxZeroErrors(n);
    if (z !== undefined) zero[n] = z;
  }
  const newConn = newConnectionMs(points, low);
  const acquire = points.at("stack", low);
  const httpKa = points.at("http-keepalive", plan.sideClients);
  return {
    referenceClients: ref,
    stackVsBeforeTps: ratio(tps("stack", ref), tps("before", ref)),
    stackVsAppPoolDirectTps: ratio(tps("stack", ref), tps("app-pool-direct", ref)),
    stackVsPgbenchPgbouncerTps: ratio(tps("stack", ref), points.best("pgbench-pgbouncer")?.tps),
    stackVsPgbenchDirectTps: ratio(tps("stack", ref), points.best("pgbench-direct")?.tps),
    concurrencyGain: zero.before ? ratio(zero.stack, zero.before) : null,
    maxZeroErrorClients: zero,
    connectionOverheadReduction: newConn && acquire?.acquireP50Ms != null ? r3(1 - acquire.acquireP50Ms / newConn) : null,
    acquireP99OverNewConnection: newConn && acquire?.acquireP99Ms != null ? Math.round((acquire.acquireP99Ms / newConn) * 1e5) / 1e5 : null,
    httpKeepAliveVsNewConnection: ratio(httpKa?.tps, tps("http-new-connection", plan.sideClients)),
    httpSocketReuse: httpKa ? httpKa.reuseRatio : null,
    redisSharedVsNewConnection: ratio(tps("redis-shared", plan.sideClients), tps("redis-new-connection", plan.sideClients)),
    byLevel: plan.levels.map((c) => ({
      clients: c,
      stackVsBeforeTps: ratio(tps("stack", c), tps("before", c)),
      stackVsAppPoolDirectTps: ratio(tps("stack", c), tps("app-pool-direct", c)),
    })),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const x = (v: number | null) => (v === null ? "n/a" : `${v}×`);

export function evaluateTargets(points: Points, ratios: Ratios, plan: Plan, maxConnections: number): Target[] {
  const top = points.at("stack", 10_000);
  const stackReuse = points.of("stack").map((p) => p.reuseRatio);
  const minReuse = stackReuse.length ? Math.min(...stackReuse) : undefined;
  const ref = ratios.referenceClients;
  const refNote = ref === 1000 ? "" : ` (read at ${ref} clients: this run has no 1,000 level)`;
  const httpNew = points.at("http-new-connection", plan.sideClients);
  return [
    {
      target: `10,000 concurrent clients through the stack (${10_000 / maxConnections}× maxConnections ${maxConnections}) with zero errors`,
      measured: top ? `${top.errors} errors${top.errors ? ` (${Object.entries(top.errorsByKind).map(([k, v]) => `${k} ${v}`).join(", ")})` : ""}, ${top.tps} tps, p99 ${top.p99Ms} ms` : "no 10,000-client level in this run",
      met: top ? top.errors === 0 && top.unfinished === 0 : null,
    },
    {
      target: "Reuse ratio ≥ 99.9% in the stack scenario (every level)",
      measured: minReuse === undefined ? "not measured" : `lowest ${pct(minReuse)}`,
      met: minReuse === undefined ? null : minReuse >= 0.999,
    },
    {
      target: "Pooled acquire p99 ≤ 1% of a new direct connection's setup time",
      measured:
        ratios.acquireP99OverNewConnection === null
          ? "not measured"
          : `${pct(ratios.acquireP99OverNewConnection)}: stack acquire p99 at ${Math.min(...plan.levels)} clients ${points.at("stack", Math.min(...plan.levels))?.acquireP99Ms} ms vs new direct connection p50 ${newConnectionMs(points, Math.min(...plan.levels))} ms (one client, uncontended)`,
      met: ratios.acquireP99OverNewConnection === null ? null : ratios.acquireP99OverNewConnection <= 0.01,
    },
    {
      target: `At 1,000 clients: stack throughput ≥ 1.5× app-pool-direct${refNote}`,
      measured: x(ratios.stackVsAppPoolDirectTps),
      met: ratios.stackVsAppPoolDirectTps === null ? null : ratios.stackVsAppPoolDirectTps >= 1.5,
    },
    {
      target: `At 1,000 clients: stack throughput ≥ 90% of pgbench through the same PgBouncer${refNote}`,
      measured: ratios.stackVsPgbenchPgbouncerTps === null ? "n/a" : pct(ratios.stackVsPgbenchPgbouncerTps),
      met: ratios.stackVsPgbenchPgbouncerTps === null ? null : ratios.stackVsPgbenchPgbouncerTps >= 0.9,
    },
    {
      target: "HTTP keep-alive ≥ 2× requests/s of no keep-alive, socket reuse ≥ 99%",
      measured: `${x(ratios.httpKeepAliveVsNewConnection)}, reuse ${ratios.httpSocketReuse === null ? "n/a" : pct(ratios.httpSocketReuse)}${httpNew ? `, new-connection errors ${httpNew.errors}` : ""}`,
      met: ratios.httpKeepAliveVsNewConnection === null || ratios.httpSocketReuse === null ? null : ratios.httpKeepAliveVsNewConnection >= 2 && ratios.httpSocketReuse >= 0.99,
    },
    {
      target: "Seed: 10× more concurrent requests (largest zero-error client count, stack ÷ before)",
      measured: `${x(ratios.concurrencyGain)} (before ${ratios.maxZeroErrorClients.before ?? "n/a"}, stack ${ratios.maxZeroErrorClients.stack ?? "n/a"}; bounded by the levels swept)`,
      met: ratios.concurrencyGain === null ? null : ratios.concurrencyGain >= 10,
    },
    {
      target: "Seed: 80% less connection overhead (pooled acquire p50 vs new connection p50)",
      measured: ratios.connectionOverheadReduction === null ? "n/a" : pct(ratios.connectionOverheadReduction),
      met: ratios.connectionOverheadReduction === null ? null : ratios.connectionOverheadReduction >= 0.8,
    },
    {
      target: "Seed: zero connection timeouts under normal load (stack, levels ≤ 1,000)",
      measured: `${points.of("stack").filter((p) => p.clients <= 1000).reduce((a, p) => a + (p.errorsByKind.acquire_timeout ?? 0) + (p.errorsByKind.connect_timeout ?? 0), 0)} timeouts`,
      met: points.of("stack").length === 0 ? null : points.of("stack").filter((p) => p.clients <= 1000).every((p) => !p.errorsByKind.acquire_timeout && !p.errorsByKind.connect_timeout),
    },
  ];
}
