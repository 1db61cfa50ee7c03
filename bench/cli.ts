/**
 * `npm run bench`: every scenario in one run on the local stack, then a Markdown report, an SVG chart
 * and (with --json) the figures as JSON. Progress goes to stderr. Ctrl-C stops the load and the
 * servers and still writes what was measured.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadStackFile, resolveStackFile } from "../infra/config/file.ts";
import { findBinaries, installedVersions } from "../local/binaries.ts";
import { PROJECT_DIR } from "../local/stack.ts";
import { renderChart } from "./chart.ts";
import { killAllWorkers } from "./load.ts";
import { describeMachine, type Machine } from "./machine.ts";
import { killAllPgbench } from "./pgbench.ts";
import { makePlan, raisedMaxConnections } from "./plan.ts";
import { renderReport } from "./report.ts";
import { Runner } from "./run.ts";
import { startStacks, type BenchStacks } from "./stacks.ts";
import { computeRatios, evaluateTargets, Points } from "./summary.ts";
import { probeUpstream, standInUpstream, type Upstream } from "./upstream.ts";

const USAGE = `Usage: npm run bench -- [--quick] [--out DIR] [--json FILE]

Measures connection pooling on the local stack: a new connection per request, app pools straight to
PostgreSQL, and the stack through PgBouncer, swept over concurrent clients, with pgbench, HTTP and
Redis references. Writes report.md, chart.svg and results.json to DIR (default bench/out/).
  --quick      fewer levels and shorter points (under 90 s)
  --json FILE  also write the results as JSON to FILE`;

const t0 = performance.now();
const say = (m: string) => process.stderr.write(`[bench +${((performance.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);

function parse() {
  try {
    return parseArgs({
      options: {
        quick: { type: "boolean", default: false },
        out: { type: "string", default: join(PROJECT_DIR, "bench", "out") },
        json: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
}

async function main(): Promise<number> {
  const args = parse();
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const wallStart = performance.now();
  const controller = new AbortController();
  let stacks: BenchStacks | undefined;
  let upstream: Upstream | undefined;
  let interrupts = 0;
  const interrupt = (signal: string) => {
    interrupts++;
    if (interrupts > 1) {
      say(`${signal} again: killing everything now`);
      killAllWorkers();
      killAllPgbench();
      for (const s of [stacks?.main.stack, stacks?.raised.stack, stacks?.storm.stack]) for (const svc of Object.values(s?.services ?? {})) svc?.kill("SIGKILL");
      process.exit(130);
    }
    say(`${signal}: stopping the load and the servers (again to force)`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => interrupt(sig));
  // npm does not pass SIGTERM on to its script: if whoever started us is gone, stop.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && interrupts === 0 && interrupt("parent exit"), 1000).unref();

  const bins = findBinaries({ install: false });
  const cfg = loadStackFile(resolveStackFile(PROJECT_DIR, {}), { versions: installedVersions(bins) });
  const plan = makePlan(args.quick ?? false, cfg);
  let runner: Runner | undefined;
  let machine: Machine | undefined;
  let failure: unknown;
  try {
    say(`starting two local stacks (max_connections ${cfg.postgres.maxConnections} and ${raisedMaxConnections(plan, cfg)})`);
    stacks = await startStacks(raisedMaxConnections(plan, cfg), say, controller.signal);
    machine = describeMachine(stacks);
    const probe = stacks.main.stack.probe;
    upstream = probe && stacks.main.probe ? probeUpstream(probe.url, probe.pid) : await standInUpstream(plan.serverKeepAliveTimeoutMs);
    say(`HTTP server: ${upstream.what}${stacks.probeNote ? ` — ${stacks.probeNote}` : ""}`);
    runner = new Runner(plan, stacks, say, controller.signal);
    await runner.pgbench();
    await runner.postgres();
    await runner.sideScenarios(upstream);
  } catch (err) {
    failure = err;
    if (!controller.signal.aborted) say(`failed: ${(err as Error).message}`);
  } finally {
    killAllWorkers();
    killAllPgbench();
    say("stopping the servers");
    await upstream?.close().catch(() => undefined);
    await stacks?.stop().catch((err: Error) => say(`stop failed: ${err.message}`));
  }
  if (!runner || !machine || !stacks) return controller.signal.aborted ? 130 : 1;

  const interrupted = controller.signal.aborted;
  const points = new Points(runner.points);
  const ratios = computeRatios(points, plan);
  // An interrupted run has partial figures: no target is judged on them.
  const targets = evaluateTargets(points, ratios, plan, cfg.postgres.maxConnections).map((t) =>
    interrupted ? { ...t, met: null, measured: `${t.measured} (interrupted run)` } : t,
  );
  const out = resolve(args.out ?? "bench/out");
  mkdirSync(out, { recursive: true });
  const chartFile = "chart.svg";
  const json = { machine, plan, scenarios: runner.points, ratios, targets, interrupted, failure: failure ? String((failure as Error).message) : undefined };
  writeFileSync(join(out, chartFile), renderChart(points, `${machine.cpus} × ${machine.cpuModel}, PostgreSQL ${machine.versions.postgres}, PgBouncer ${machine.versions.pgbouncer}; ${machine.startedAt}`));
  writeFileSync(
    join(out, "report.md"),
    renderReport({ machine, plan, points, ratios, targets, maxConnections: stacks.maxConnections, upstream: upstream?.what ?? "–", wallSeconds: (performance.now() - wallStart) / 1000, chartFile, interrupted }),
  );
  writeFileSync(join(out, "results.json"), `${JSON.stringify(json, null, 2)}\n`);
  if (args.json) {
    mkdirSync(dirname(resolve(args.json)), { recursive: true });
    writeFileSync(resolve(args.json), `${JSON.stringify(json, null, 2)}\n`);
  }
  say(`report: ${join(out, "report.md")}`);
  for (const t of targets) say(`target ${t.met === null ? "not measured" : t.met ? "met" : "MISSED"}: ${t.target} — ${t.measured}`);
  return interrupted ? 130 : failure ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`failed: ${(err as Error).stack ?? String(err)}`);
    killAllWorkers();
    killAllPgbench();
    process.exit(1);
  },
);
