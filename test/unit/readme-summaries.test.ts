import { describe, expect, expectTypeOf, it } from "vitest";
import type { z } from "zod";
import type { BenchResultsFile } from "../../bench/results.ts";
import { DocsMarkerError, markers, withGenerated } from "../../infra/cli/generated.ts";
import { performanceSummary, type performanceResults } from "../../infra/cli/readme-performance.ts";
import { reliabilitySummary } from "../../infra/cli/readme-reliability.ts";

const point = (name: string, clients: number, tps: number, p99Ms: number, errors = 0, peakBackends = 25) => ({ name, clients, tps, p99Ms, errors, peakBackends });

const bench = () => ({
  machine: { cpuModel: "AMD EPYC", cpus: 2, startedAt: "2026-11-27T14:05:14.618Z", versions: { postgres: "15.18", pgbouncer: "1.18.0", redis: "7.0.15" } },
  plan: { quick: false, levels: [50, 1000] },
  scenarios: [
    point("before", 50, 237, 355.985),
    point("stack", 50, 12606.7, 12.532),
    point("app-pool-direct", 50, 14452.1, 11.809, 0, 50),
    point("before", 1000, 135.8, 5056.56, 3282, 175),
    point("stack", 1000, 10633.8, 259.316),
  ],
  targets: [
    { target: "10,000 clients with zero errors", measured: "0 errors", met: true },
    { target: "At 1,000 clients: stack ≥ 1.5× app-pool-direct", measured: "1.054×", met: false },
    { target: "Seed: zero timeouts", measured: "–", met: null },
  ],
  interrupted: false,
});

describe("performanceSummary", () => {
  const summary = performanceSummary(JSON.stringify(bench()));

  it("has a row per client level with each scenario's throughput, p99 and errors, and the stack's backends", () => {
    expect(summary).toContain("| 50 | 237 (p99 356 ms) | 12,607 (p99 13 ms) on 25 backends | 14,452 (p99 12 ms) |");
    expect(summary).toContain("| 1,000 | 136 (p99 5.1 s, 3,282 errors) | 10,634 (p99 259 ms) on 25 backends | – |");
  });

  it("counts the targets met and not measured, and lists each missed one with its figure", () => {
    expect(summary).toContain("Targets: 1 of 3 met, 1 not measured ([each with its figures](docs/performance/report.md)); missed:");
    expect(summary).toContain("- At 1,000 clients: stack ≥ 1.5× app-pool-direct: 1.054×");
    expect(summary).not.toContain("10,000 clients with zero errors");
  });

  it("names the run, its machine and server versions, and links its report and JSON", () => {
    expect(summary).toContain("From a full run started 2026-11-27T14:05:14.618Z ([report](docs/performance/report.md), [JSON](docs/performance/results.json)): 2 × AMD EPYC,");
    expect(summary).toContain("PostgreSQL 15.18, PgBouncer 1.18.0, Redis 7.0.15");
    expect(performanceSummary(JSON.stringify({ ...bench(), interrupted: true }))).toContain("From an interrupted run (partial results)");
  });

  it("ignores fields it does not read, so the bench can add them", () => {
    const extended = { ...bench(), futureSection: { points: [{ poolSize: 10, tps: 1 }] }, scenarios: bench().scenarios.map((s) => ({ ...s, cpuPerTransaction: { postgres: 0.1 } })) };
    expect(performanceSummary(JSON.stringify(extended))).toBe(summary);
  });

  it("shows the sweep at its 1,000-client level, marking the derived default and the seed's value", () => {
    const sweepPoint = (value: number, clients: number, tps: number) => ({ ...point("stack", clients, tps, 100), value, cpuPerTransactionUs: { postgres: value, pgbouncer: 1, load: 1 } });
    const withSweep = {
      ...bench(),
      sweep: { key: "pooling:pgbouncer.defaultPoolSize", currentValue: 8, seedValue: 25, points: [sweepPoint(25, 1000, 20_000), sweepPoint(8, 1000, 24_000), sweepPoint(8, 100, 1)] },
    };
    const text = performanceSummary(JSON.stringify(withSweep));
    expect(text).toContain("swept at 1,000 clients ([sweep](docs/performance/report.md#sweep-poolingpgbouncerdefaultpoolsize))");
    expect(text).toMatch(/\| 8 \| \*\*derived default\*\* for the run's 2 cores, one PgBouncer \| 24,000 \| 100 ms \| 8 µs \|\n\| 25 \| seed's \| 20,000 \| 100 ms \| 25 µs \|/);
    expect(text).not.toContain("| 1 |");
  });

  it("calls the sweep's stack value the stack's, not a derived default, when the run's cores do not derive it", () => {
    const withSweep = { ...bench(), machine: { ...bench().machine, cpus: 4 }, sweep: { key: "pooling:pgbouncer.defaultPoolSize", currentValue: 8, seedValue: 25, points: [{ ...point("stack", 1000, 24_000, 100), value: 8 }] } };
    const text = performanceSummary(JSON.stringify(withSweep));
    expect(text).toContain("| 8 | **stack's value** | 24,000 |");
    expect(text).not.toContain("derived default");
  });

  it("says what the protocol costs PostgreSQL and which part grew at the top level", () => {
    const cost = {
      protocol: { ratio: 1.061, stackClients: 1000, stackPostgresUs: 33.3, pgbenchPostgresUs: 31.4, pgbenchClients: 16 },
      growth: { peakClients: 1000, topClients: 10_000, peakTps: 21_876, topTps: 11_887, delta: { postgres: 3.4, load: 16 }, grewMost: "load" },
    };
    const text = performanceSummary(JSON.stringify({ ...bench(), cost }));
    expect(text).toContain("33.3 µs vs 31.4 µs, 1.061×");
    expect(text).toContain("grew most in the load generator (+16 µs)");
  });

  it("says how loaded the machine was at the start and how TLS ran, when the results have them", () => {
    const withBoth = performanceSummary(JSON.stringify({ ...bench(), machine: { ...bench().machine, loadAverageAtStart: [9.9, 9.5, 8.8] }, tls: { enabled: true, minVersion: "TLSv1.2" } }));
    expect(withBoth).toContain("servers and load sharing the CPUs (load average 9.9 at the start: other work shares the machine).");
    expect(withBoth).toContain("TLS on every connection (TLSv1.2 or newer, clients verify-full): each new connection in the before column pays a TLS handshake");
    // A load average within the machine's cores is stated without blaming other work.
    const quiet = performanceSummary(JSON.stringify({ ...bench(), machine: { ...bench().machine, loadAverageAtStart: [1.5, 2, 2.5] } }));
    expect(quiet).toContain(`servers and load sharing the CPUs (load average 1.5 at the start).`);
    expect(summary).not.toContain("load average");
    expect(summary).not.toContain("TLS");
  });

  it("refuses results without a field it needs, naming it", () => {
    const { targets: _targets, ...rest } = bench();
    expect(() => performanceSummary(JSON.stringify(rest))).toThrow(/targets/);
  });
});

const faultRun = () => ({
  startedAt: "2026-11-29T06:44:31.700Z",
  versions: { postgres: "15.18", pgbouncer: "1.18.0", redis: "7.0.15" },
  concurrency: 16,
  settleMs: 3000,
  faults: [
    { fault: "PgBouncer killed", requests: 8585, errors: 4, connectionsLeaked: 0, acknowledgedWrites: 8581, writesLost: 0, writesDuplicated: 0, longestRequestMs: 437, notes: ["x"] },
    { fault: "PostgreSQL frozen", requests: 4519, errors: 0, connectionsLeaked: 1, acknowledgedWrites: 4519, writesLost: 2, writesDuplicated: 3, longestRequestMs: 5012 },
  ],
  connections: { clients: 10000, connected: 9999, connectSeconds: 18.5, holdSeconds: 60.7, queries: 639560, errors: 1, peakServerConnections: 25, pgbouncerPeakRssMiB: 66.4, probePeakRssMiB: 144.5 },
});

describe("reliabilitySummary", () => {
  const summary = reliabilitySummary(JSON.stringify(faultRun()));

  it("has a row per fault with its requests, failures, leaks, lost and doubled writes and longest request", () => {
    expect(summary).toContain("| PgBouncer killed | 8,585 | 4 | 0 | 0 of 8,581 | 0 | 437 ms |");
    expect(summary).toContain("| PostgreSQL frozen | 4,519 | 0 | 1 | 2 of 4,519 | 3 | 5.0 s |");
  });

  it("sums up the many-connections hold, and leaves it out when the run had none", () => {
    const line = "10,000 client connections held through PgBouncer for 61 s: 9,999 connected, 639,560 queries, 1 failed, at most 25 PostgreSQL backends, PgBouncer at most 66.4 MiB.";
    expect(summary).toContain(line);
    const { connections: _c, ...without } = faultRun();
    expect(reliabilitySummary(JSON.stringify(without))).not.toContain("client connections held");
  });

  it("names the run and links its report", () => {
    expect(summary).toMatch(/^From the fault run started 2026-11-29T06:44:31.700Z \(\[report\]\(docs\/reliability\.md\)\): PostgreSQL 15\.18, PgBouncer 1\.18\.0, Redis 7\.0\.15,\n16 concurrent/);
  });

  it("adds an alerts column when Prometheus watched the run: each alert fired with its times, a false alarm or a missing alert in bold", () => {
    expect(summary).not.toContain("| alerts |");
    const run = faultRun();
    const watched = {
      ...run,
      faults: [
        { ...run.faults[0]!, alerts: { fired: [], missing: [], unexpected: [] } },
        {
          ...run.faults[1]!,
          alerts: {
            fired: [
              { alert: "ProbeNotReady", fireMs: 4200, clearMs: 1800 },
              { alert: "RedisDown", fireMs: 5000 },
            ],
            missing: ["PostgresDown"],
            unexpected: ["RedisDown"],
          },
        },
      ],
    };
    const text = reliabilitySummary(JSON.stringify(watched));
    expect(text).toContain("| longest request | alerts |");
    expect(text).toContain("| PgBouncer killed | 8,585 | 4 | 0 | 0 of 8,581 | 0 | 437 ms | none |");
    expect(text).toContain("| 5.0 s | ProbeNotReady: 4.2 s, 1.8 s<br>**RedisDown: 5.0 s, did not clear**<br>**PostgresDown did not fire** |");
  });
});

describe("withGenerated", () => {
  const { start, end } = markers("part");
  const page = `# Title\n\nbefore\n${start}\nold\n${end}\nafter\n`;

  it("replaces only the text between the part's markers", () => {
    expect(withGenerated(page, "page.md", "part", "new\n")).toBe(`# Title\n\nbefore\n${start}\nnew\n${end}\nafter\n`);
  });

  it("is a fixed point: generating twice changes nothing", () => {
    const once = withGenerated(page, "page.md", "part", "new");
    expect(withGenerated(once, "page.md", "part", "new")).toBe(once);
  });

  it.each([
    ["missing", "# Title\n"],
    ["in the wrong order", `${end}\n${start}\n`],
    ["twice", `${start}\n${end}\n${start}\n${end}\n`],
  ])("refuses a page whose markers are %s, naming the file and the marker", (_case, text) => {
    expect(() => withGenerated(text, "page.md", "part", "new")).toThrow(DocsMarkerError);
    expect(() => withGenerated(text, "page.md", "part", "new")).toThrow(`page.md needs the marker ${start} once`);
  });
});

describe("the bench's results file and the README's reading of it", () => {
  it("every field the summary requires is one the bench writes, with the same type (checked by npm run typecheck)", () => {
    // The schema is the reader's subset of the file; BenchResultsFile (bench/results.ts) is the writer's
    // one declaration. A field renamed or retyped on one side fails the typecheck here.
    const readable = (file: BenchResultsFile): z.input<typeof performanceResults> => ({ ...file, scenarios: [...file.scenarios], sweep: file.sweep });
    expectTypeOf(readable).toBeFunction();
  });
});
