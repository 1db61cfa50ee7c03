/** --tls-compare's arithmetic and report on fixture points: CPU per transaction with TLS against without. */
import { describe, expect, test } from "vitest";
import { parseBenchArgs } from "../../bench/args.ts";
import { makePlan } from "../../bench/plan.ts";
import { tlsSection } from "../../bench/report-tls.ts";
import type { ScenarioPoint } from "../../bench/results.ts";
import { tlsSide, tlsSummary, tlsTarget, type TlsComparison, type TlsPoint } from "../../bench/tls.ts";
import { CliUsageError } from "../../infra/errors.ts";
import { parseStackConfig } from "../../infra/config/index.ts";
import { point } from "./fixtures.ts";

/** A point whose parts cost these µs per transaction (10,000 transactions). */
function costing(name: "before-serial" | "stack", tls: boolean, round: number, us: { postgres: number; pgbouncer: number; load: number }, over: Partial<ScenarioPoint> = {}): TlsPoint {
  const transactions = over.transactions ?? 10_000;
  const cpuSeconds = { postgres: (us.postgres * transactions) / 1e6, pgbouncer: (us.pgbouncer * transactions) / 1e6, load: (us.load * transactions) / 1e6 };
  return { ...point(name, name === "stack" ? 1000 : 1, { cpuSeconds, transactions, ...over }), tls, round };
}

const comparison = (points: TlsPoint[]): TlsComparison => ({ level: 1000, rounds: 2, minVersion: "TLSv1.2", points });

describe("the bench's --tls-compare option", () => {
  test("is off unless asked for, and cannot go with --sweep-only", () => {
    expect(parseBenchArgs(["--tls-compare"], "out")).toMatchObject({ tlsCompare: true, sweepOnly: false });
    expect(parseBenchArgs(["--quick"], "out").tlsCompare).toBe(false);
    expect(() => parseBenchArgs(["--sweep", "pgbouncer.defaultPoolSize=2,4", "--sweep-only", "--tls-compare"], "out")).toThrow(CliUsageError);
  });

  test("runs two rounds in the full plan and one with --quick", () => {
    const cfg = parseStackConfig({}, { stack: "test" });
    expect(makePlan(false, cfg).tlsRounds).toBe(2);
    expect(makePlan(true, cfg).tlsRounds).toBe(1);
  });
});

describe("one side of the comparison", () => {
  test("weighs each point's CPU per transaction by its transactions, not by the point", () => {
    const side = tlsSide(
      [costing("stack", true, 1, { postgres: 30, pgbouncer: 10, load: 60 }, { transactions: 30_000 }), costing("stack", true, 2, { postgres: 50, pgbouncer: 20, load: 100 }, { transactions: 10_000 })],
      false,
    );
    expect(side.cpuUs).toEqual({ postgres: 35, pgbouncer: 12.5, load: 70 });
    expect(side.serversUs).toBe(47.5);
    expect(side.pathUs).toBe(117.5);
    expect(side.transactions).toBe(40_000);
  });

  test("takes tps, p99 and the time to a new connection as medians over the rounds, the connection only where one is made per request", () => {
    const pts = [1, 2, 3].map((r) => costing("before-serial", true, r, { postgres: 1, pgbouncer: 0, load: 1 }, { tps: 100 * r, p99Ms: 10 * r, acquireP50Ms: r }));
    expect(tlsSide(pts, true)).toMatchObject({ tps: 200, p99Ms: 20, connectMs: 2 });
    expect(tlsSide(pts, false).connectMs).toBeNull();
  });
});

describe("TLS against plaintext", () => {
  const points = [
    costing("before-serial", true, 1, { postgres: 900, pgbouncer: 0, load: 700 }, { acquireP50Ms: 4 }),
    costing("before-serial", false, 1, { postgres: 600, pgbouncer: 0, load: 300 }, { acquireP50Ms: 2.5 }),
    costing("stack", true, 1, { postgres: 33, pgbouncer: 12, load: 66 }),
    costing("stack", false, 1, { postgres: 30, pgbouncer: 10, load: 60 }),
  ];

  test("gives each scenario's ratios, on over off", () => {
    const [serial, stack] = tlsSummary(comparison(points));
    expect(serial!.scenario).toBe("before-serial");
    expect(serial!.on.connectMs).toBe(4);
    expect(serial!.off.connectMs).toBe(2.5);
    expect(stack!.ratio).toEqual({ postgres: 1.1, pgbouncer: 1.2, servers: 1.125, path: 1.11, tps: 1 });
  });

  test("meets the 15% target when the whole path costs at most 1.15× plaintext, and says by how much", () => {
    const t = tlsTarget(comparison(points));
    expect(t.met).toBe(true);
    expect(t.target).toMatch(/^At 1,000 clients: .* within 15% of its plaintext cost per transaction/);
    expect(t.measured).toMatch(/^111 µs vs 100 µs, \+11\.0% \(servers alone: 45 vs 40 µs, \+12\.5%\)/);
  });

  test("misses it past 15%", () => {
    const dear = [costing("stack", true, 1, { postgres: 40, pgbouncer: 15, load: 70 }), costing("stack", false, 1, { postgres: 30, pgbouncer: 10, load: 60 })];
    expect(tlsTarget(comparison(dear)).met).toBe(false);
  });

  test("judges nothing when a side is missing (an interrupted run)", () => {
    const half = comparison(points.filter((p) => p.tls));
    expect(tlsSummary(half)).toEqual([]);
    expect(tlsTarget(half)).toMatchObject({ met: null, measured: "not measured" });
  });

  test("reports both sides of each scenario, their ratio row, and every point", () => {
    const cfg = parseStackConfig({}, { stack: "test" });
    const text = tlsSection(comparison(points), makePlan(false, cfg)).join("\n");
    expect(text).toMatch(/^## TLS: what it costs/);
    expect(text).toContain("| **TLS / plaintext** | 1.000× | | +1.50 | 1.500× | – | | 1.778× |");
    expect(text).toContain("| **TLS / plaintext** | 1.000× | | – | 1.100× | 1.200× | | 1.110× |");
    expect(text.split("\n").filter((l) => /^\| (before-serial|stack) \| 1 \| (on|off) \|/.test(l))).toHaveLength(4);
  });
});
