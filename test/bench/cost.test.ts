/** The bench's arithmetic on fixture points: command line, CPU per transaction, matching, growth, the sweep's target. */
import { describe, expect, test } from "vitest";
import { parseBenchArgs } from "../../bench/args.ts";
import { CliUsageError } from "../../infra/errors.ts";
import { withUnattributed } from "../../bench/attribution.ts";
import { explainRatio, growthAtTop, machineTimePerTransactionUs, nearestByBusy, protocolCost, statementShape } from "../../bench/cost.ts";
import { cpuPerTransactionUs } from "../../bench/results.ts";
import { point } from "./fixtures.ts";
import { sweepTarget, type SweepResult } from "../../bench/sweep.ts";

/** cpuSeconds with the rest of the machine split by process: 0.12 s of 1.2 s busy beyond the named parts. */
function split(over: Record<string, number>): Record<string, number> {
  return withUnattributed({ postgres: 0.5, pgbouncer: 0.2, redis: 0.03, probe: 0.02, load: 0.3, bench: 0.04, softirqThreads: 0.01, otherProcesses: 0.06, machineBusy: 1.2, machineIdle: 0.8, machineSoftirq: 0.05, ...over });
}

describe("the bench's command line", () => {
  test("defaults to the full run into the given folder", () => {
    expect(parseBenchArgs([], "out")).toEqual({ quick: false, out: "out", sweepOnly: false, tlsCompare: false, help: false });
  });

  test("takes a sweep, alone or with the other scenarios", () => {
    expect(parseBenchArgs(["--quick", "--sweep", "pgbouncer.defaultPoolSize=2,4"], "out")).toMatchObject({ quick: true, sweep: "pgbouncer.defaultPoolSize=2,4", sweepOnly: false });
    expect(parseBenchArgs(["--sweep=pgbouncer.defaultPoolSize=2,4", "--sweep-only"], "out")).toMatchObject({ sweep: "pgbouncer.defaultPoolSize=2,4", sweepOnly: true });
  });

  test("refuses --sweep-only without a sweep, and unknown options", () => {
    expect(() => parseBenchArgs(["--sweep-only"], "out")).toThrow(expect.objectContaining({ code: "POOLING_CLI_USAGE", message: expect.stringMatching(/^--sweep-only needs --sweep section\.key=v1,v2,…\n\nUsage: npm run bench/) }));
    expect(() => parseBenchArgs(["--swep", "x"], "out")).toThrow(CliUsageError);
  });
});

describe("CPU per transaction", () => {
  test("is each part's CPU seconds over the transactions, in µs", () => {
    expect(cpuPerTransactionUs({ postgres: 0.88, pgbouncer: 0.1, load: 1.5 }, 10_000)).toEqual({ postgres: 88, pgbouncer: 10, load: 150 });
  });

  test("is 0 for every part when nothing completed", () => {
    expect(cpuPerTransactionUs({ postgres: 1 }, 0)).toEqual({ postgres: 0, pgbouncer: 0, load: 0 });
  });

  test("splits the machine's time per transaction into parts that add up to cores ÷ tps", () => {
    const t = machineTimePerTransactionUs(point("stack", 1000, { cpuSeconds: split({}) }))!;
    expect(t).toEqual({ postgres: 50, pgbouncer: 20, redis: 3, probe: 2, load: 30, bench: 4, softirqThreads: 1, otherProcesses: 6, kernelUnattributed: 4, idle: 80 });
    expect(Object.values(t).reduce<number>((a, b) => a + (b ?? 0), 0)).toBe(200);
  });

  test("derives the kernel's unattributed time as the busy time no process was charged with, never below 0", () => {
    expect(withUnattributed({ postgres: 0.5, load: 0.3, bench: 0.1, otherProcesses: 0.05, machineBusy: 1 }).kernelUnattributed).toBeCloseTo(0.05);
    expect(withUnattributed({ postgres: 0.5, otherProcesses: 0.6, machineBusy: 1 }).kernelUnattributed).toBe(0);
    expect(withUnattributed({ postgres: 0.5, machineBusy: 1 })).not.toHaveProperty("kernelUnattributed");
  });

  test("leaves the split parts unmeasured for a point from before the split, and counts the rest as measured", () => {
    const t = machineTimePerTransactionUs(point("stack", 1000))!;
    expect(t).toMatchObject({ postgres: 50, bench: null, softirqThreads: null, otherProcesses: null, kernelUnattributed: null, idle: 80 });
  });
});

describe("the stack against pgbench through PgBouncer", () => {
  const pgbench = [
    point("pgbench-pgbouncer", 8, { busyBackends: { peak: 6, mean: 3.1 } }),
    point("pgbench-pgbouncer", 32, { busyBackends: { peak: 20, mean: 9 } }),
    point("pgbench-pgbouncer", 64, { busyBackends: { peak: 25, mean: 11 } }),
  ];

  test("matches the pgbench point nearest in mean busy backends", () => {
    expect(nearestByBusy(10.2, pgbench)?.clients).toBe(64);
    expect(nearestByBusy(4, pgbench)?.clients).toBe(8);
  });

  test("on a tie, takes the pgbench point with more clients", () => {
    expect(nearestByBusy(10, pgbench)?.clients).toBe(64);
  });

  test("reports the ratio of PostgreSQL CPU per transaction and which point was matched", () => {
    const stack = point("stack", 1000, { busyBackends: { peak: 25, mean: 10.5 }, cpuSeconds: { postgres: 0.55, pgbouncer: 0.3, load: 1, machineBusy: 2, machineIdle: 0 } });
    const c = protocolCost(stack, pgbench)!;
    expect(c).toMatchObject({ pgbenchClients: 64, stackPostgresUs: 55, pgbenchPostgresUs: 50, ratio: 1.1, ratioRange: [1.1, 1.1], met: true, explanation: [] });
  });

  test("gives the ratio against every pgbench point too, lowest and highest", () => {
    const pts = [point("pgbench-pgbouncer", 4, { cpuSeconds: { postgres: 0.4 } }), point("pgbench-pgbouncer", 64, { cpuSeconds: { postgres: 0.8 } })];
    expect(protocolCost(point("stack", 1000, { cpuSeconds: { postgres: 0.8 } }), pts)?.ratioRange).toEqual([1, 2]);
  });

  test("above target, says whether more transactions per request or dearer ones make the ratio", () => {
    const stack = point("stack", 1000, { busyBackends: { peak: 25, mean: 11 }, cpuSeconds: { postgres: 1, machineBusy: 1, machineIdle: 0 }, database: { xacts: 10_000, tupReturned: 10_000, tupFetched: 0 } });
    const c = protocolCost(stack, pgbench)!;
    expect(c.ratio).toBe(2);
    expect(c.met).toBe(false);
    expect(c.explanation.join(" ")).toContain("as many transactions as pgbench does, so the 2× is the cost of each one");
  });

  test("attributes a ratio to extra transactions per request when PostgreSQL counted them", () => {
    const lines = explainRatio(2, { xactsPerTransaction: 2, tuplesReturnedPerTransaction: 1, tuplesFetchedPerTransaction: 1 }, statementShape(pgbench[0]!));
    expect(lines[1]).toBe("More transactions per request account for 2× of the 2×; each transaction costs 1× pgbench's.");
  });

  test("is not measured without a stack point or a pgbench point", () => {
    expect(protocolCost(undefined, pgbench)).toBeUndefined();
    expect(protocolCost(point("stack", 1000), [])).toBeUndefined();
  });
});

describe("growth at the top level", () => {
  test("names the part whose time per transaction grew the most against the peak", () => {
    const peak = point("stack", 1000, { tps: 2000, cpuSeconds: split({}) });
    const top = point("stack", 10_000, { tps: 1000, cpuSeconds: split({ pgbouncer: 0.9, load: 0.4, machineBusy: 2, machineIdle: 0.9 }) });
    const g = growthAtTop([point("stack", 50, { tps: 1500 }), peak, top])!;
    expect(g).toMatchObject({ peakClients: 1000, topClients: 10_000, grewMost: "pgbouncer" });
    expect(g.delta).toEqual({ postgres: 0, pgbouncer: 70, redis: 0, probe: 0, load: 10, bench: 0, softirqThreads: 0, otherProcesses: 0, kernelUnattributed: 0, idle: 10 });
  });

  test("names the kernel's unattributed time when the busy time no process was charged with grew most", () => {
    const peak = point("stack", 1000, { tps: 2000, cpuSeconds: split({}) });
    const top = point("stack", 10_000, { tps: 1000, cpuSeconds: split({ otherProcesses: 0.1, softirqThreads: 0.05, machineBusy: 1.6 }) });
    const g = growthAtTop([peak, top])!;
    expect(g.grewMost).toBe("kernelUnattributed");
    expect(g.delta).toMatchObject({ otherProcesses: 4, softirqThreads: 4, kernelUnattributed: 32 });
  });

  test("names a split part only where both points measured it", () => {
    const peak = point("stack", 1000, { tps: 2000 });
    const top = point("stack", 10_000, { tps: 1000, cpuSeconds: split({ otherProcesses: 0.5, machineBusy: 2 }) });
    const g = growthAtTop([peak, top])!;
    expect(g.delta.otherProcesses).toBeNull();
    expect(g.grewMost).toBe("postgres");
  });

  test("is not measured when the top level is the peak", () => {
    expect(growthAtTop([point("stack", 50, { tps: 10 }), point("stack", 500, { tps: 20 })])).toBeUndefined();
  });
});

describe("the sweep's target", () => {
  const sweep = (current: number, rows: Array<[number, number, number]>): SweepResult => ({
    key: "pooling:pgbouncer.defaultPoolSize",
    values: rows.map(([v]) => v),
    levels: [100, 1000],
    durationMs: 1000,
    currentValue: current,
    seedValue: 25,
    points: rows.map(([value, tps, p99Ms]) => ({ value, ...point("stack", 1000, { tps, p99Ms }) })),
  });

  test("is met when the stack's value is within 10% of the best, beats the seed's and its p99 is no worse", () => {
    const t = sweepTarget(sweep(4, [[2, 900, 20], [4, 1000, 20], [8, 1050, 25], [25, 800, 30]]));
    expect(t.met).toBe(true);
    expect(t.measured).toContain("1000 tps = 95.2% of the best (8: 1050 tps)");
  });

  test("is missed when the seed's p99 is better", () => {
    expect(sweepTarget(sweep(4, [[4, 1000, 40], [25, 800, 30]])).met).toBe(false);
  });

  test("is not judged when the stack's value is the seed's, or was not swept", () => {
    expect(sweepTarget(sweep(25, [[4, 1000, 40], [25, 800, 30]])).met).toBeNull();
    expect(sweepTarget(sweep(16, [[4, 1000, 40], [25, 800, 30]])).met).toBeNull();
  });
});
