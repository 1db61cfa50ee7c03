/**
 * `npm run bench`: every scenario in one run on the local stack (and with --sweep, the stack scenario
 * at each value of one stack key), then a Markdown report, SVG charts and (with --json) the figures as
 * JSON. Progress goes to stderr. Ctrl-C stops the load and the servers and still writes what was
 * measured.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadStackFile, resolveStackFile } from "../infra/config/file.ts";
import type { StackConfig } from "../infra/config/index.ts";
import { checkSweepValues, parseSweepSpec, type NumericSweep } from "./sweep-spec.ts";
import { findBinaries, installedVersions } from "../local/binaries.ts";
import { localMachine } from "../local/machine.ts";
import { PROJECT_DIR, type LocalStack } from "../local/stack.ts";
import { parseBenchArgs, USAGE, type BenchArgs } from "./args.ts";
import { runCli } from "../lib/cli.ts";
import { renderChart, renderSweepChart } from "./chart.ts";
import { costSummary, protocolCostTarget } from "./cost.ts";
import { killAllWorkers } from "./load.ts";
import { describeMachine, type Machine } from "./machine.ts";
import { killAllPgbench } from "./pgbench.ts";
import { makePlan, raisedMaxConnections, type Plan } from "./plan.ts";
import { renderReport } from "./report.ts";
import type { BenchResultsFile } from "./results.ts";
import { Runner } from "./run.ts";
import { startStacks, startSweepStacks, startTlsStacks, type BenchStacks, type SweepStacks, type TlsStacks } from "./stacks.ts";
import { computeRatios, evaluateTargets, Points, type Target } from "./summary.ts";
import { emptySweep, runSweep, sweepTarget, type SweepResult } from "./sweep.ts";
import { emptyTlsComparison, runTlsComparison, tlsSummary, tlsTarget, type TlsComparison } from "./tls.ts";
import { probeUpstream, standInUpstream, type Upstream } from "./upstream.ts";

const t0 = performance.now();
const say = (m: string) => process.stderr.write(`[bench +${((performance.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);

/** What a run is asked to do, every part of it checked before anything starts. */
interface Setup {
  args: BenchArgs;
  cfg: StackConfig;
  plan: Plan;
  sweep?: NumericSweep;
}

/**
 * The command line and the stack config, every part checked before anything starts; undefined after
 * --help. A usage, config or sweep error is thrown for runCli to tell (exit 2, no stack trace).
 */
function setUp(argv: string[]): Setup | undefined {
  const args = parseBenchArgs(argv, join(PROJECT_DIR, "bench", "out"));
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return undefined;
  }
  const file = resolveStackFile(PROJECT_DIR, {});
  const versions = installedVersions(findBinaries({ install: false }));
  // The same parser, with the same versions, as the local stack that will run each value.
  const load = (overrides?: Record<string, unknown>) => loadStackFile(file, { versions, machine: localMachine() }, overrides);
  const cfg = load();
  const sweep = args.sweep === undefined ? undefined : parseSweepSpec(args.sweep, cfg);
  if (sweep) checkSweepValues(sweep, load);
  return { args, cfg, plan: makePlan(args.quick, cfg), ...(sweep ? { sweep } : {}) };
}

/** Ctrl-C (or the parent's exit) aborts the run; a second one kills every process it started at once. */
function watchInterrupts(controller: AbortController, live: () => LocalStack[]): void {
  let interrupts = 0;
  const interrupt = (signal: string) => {
    interrupts++;
    if (interrupts > 1) {
      say(`${signal} again: killing everything now`);
      killAllWorkers();
      killAllPgbench();
      for (const s of live()) for (const svc of Object.values(s.services)) svc?.kill("SIGKILL");
      process.exit(130);
    }
    say(`${signal}: stopping the load and the servers (again to force)`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => interrupt(sig));
  // npm does not pass SIGTERM on to its script: if whoever started us is gone, stop.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && interrupts === 0 && interrupt("parent exit"), 1000).unref();
}

/** What was measured, complete or not. */
interface Measured {
  machine: Machine;
  runner?: Runner;
  sweep?: SweepResult;
  tlsComparison?: TlsComparison;
  maxConnections: { main: number; raised: number };
  upstream: string;
  failure?: unknown;
}

/** Every scenario, point by point, into `measured.runner` (so an interrupted run keeps what it measured). */
async function runScenarios(plan: Plan, stacks: BenchStacks, measured: Measured, signal: AbortSignal): Promise<void> {
  const probe = stacks.main.stack.probe;
  const upstream: Upstream = probe && stacks.main.probe ? probeUpstream(probe.url, probe.pid) : await standInUpstream(plan.serverKeepAliveTimeoutMs);
  try {
    measured.upstream = upstream.what;
    say(`HTTP server: ${upstream.what}${stacks.probeNote ? ` — ${stacks.probeNote}` : ""}`);
    measured.runner = new Runner(plan, stacks, say, signal);
    await measured.runner.pgbench();
    await measured.runner.postgres();
    await measured.runner.sideScenarios(upstream);
  } finally {
    await upstream.close().catch(() => undefined);
  }
}

/**
 * Starts the stacks (the scenarios' and the sweep's at once), runs the scenarios, stops their stacks,
 * then runs the sweep; every server is stopped however it ends. undefined when nothing could start.
 */
async function measure(s: Setup, signal: AbortSignal, live: LocalStack[]): Promise<Measured | undefined> {
  const { args, cfg, plan } = s;
  let stacks: BenchStacks | undefined;
  let sweepStacks: SweepStacks | undefined;
  let tlsStacks: TlsStacks | undefined;
  let measured: Measured | undefined;
  try {
    const raised = raisedMaxConnections(plan, cfg);
    if (!args.sweepOnly) say(`starting three local stacks (max_connections ${cfg.postgres.maxConnections} and ${raised})`);
    if (s.sweep) say(`starting ${s.sweep.values.length} stacks for the sweep of pooling:${s.sweep.path}`);
    if (args.tlsCompare) say("starting two stacks for the TLS comparison (pooling:tls.enabled true and false)");
    const [a, b, c] = await Promise.allSettled([
      args.sweepOnly ? undefined : startStacks(raised, say, signal),
      s.sweep ? startSweepStacks(s.sweep, say, signal) : undefined,
      args.tlsCompare ? startTlsStacks(say, signal) : undefined,
    ]);
    stacks = a.status === "fulfilled" ? a.value : undefined;
    sweepStacks = b.status === "fulfilled" ? b.value : undefined;
    tlsStacks = c.status === "fulfilled" ? c.value : undefined;
    for (const x of [a, b, c]) if (x.status === "rejected") throw x.reason;
    if (stacks) live.push(stacks.main.stack, stacks.raised.stack, stacks.storm.stack);
    live.push(...(sweepStacks?.stacks.map((x) => x.stack) ?? []));
    if (tlsStacks) live.push(tlsStacks.on.stack, tlsStacks.off.stack);
    const first = stacks?.main.stack ?? sweepStacks?.stacks[0]?.stack;
    if (!first) return undefined;
    measured = {
      machine: describeMachine(first),
      maxConnections: stacks?.maxConnections ?? { main: first.config.postgres.maxConnections, raised: first.config.postgres.maxConnections },
      upstream: "–",
      ...(s.sweep ? { sweep: emptySweep(s.sweep, plan) } : {}),
      ...(tlsStacks ? { tlsComparison: emptyTlsComparison(plan, tlsStacks.on.stack.config.tls.minVersion) } : {}),
    };
    if (stacks) {
      await runScenarios(plan, stacks, measured, signal);
      // The TLS comparison and the sweep get the machine to themselves.
      await stacks.stop();
      stacks = undefined;
    }
    if (tlsStacks && measured.tlsComparison) {
      await runTlsComparison(plan, tlsStacks, measured.tlsComparison, say, signal);
      await tlsStacks.stop();
      tlsStacks = undefined;
    }
    if (sweepStacks && measured.sweep) await runSweep(plan, sweepStacks, measured.sweep, say, signal);
  } catch (err) {
    if (measured) measured.failure = err;
    if (!signal.aborted) say(`failed: ${(err as Error).message}`);
  } finally {
    killAllWorkers();
    killAllPgbench();
    say("stopping the servers");
    await stacks?.stop().catch((err: Error) => say(`stop failed: ${err.message}`));
    await sweepStacks?.stop().catch((err: Error) => say(`stop failed: ${err.message}`));
    await tlsStacks?.stop().catch((err: Error) => say(`stop failed: ${err.message}`));
  }
  return measured;
}

/** Figures, targets, report and charts into `args.out` (and `args.json`). */
function writeResults(s: Setup, m: Measured, interrupted: boolean, wallSeconds: number): Target[] {
  const { args, plan } = s;
  const points = new Points(m.runner?.points ?? []);
  const ratios = computeRatios(points, plan);
  const cost = costSummary(points, plan.referenceLevel);
  const measuredTargets = [
    ...(m.runner ? [...evaluateTargets(points, ratios, plan, m.maxConnections.main), protocolCostTarget(cost.protocol, plan.referenceLevel)] : []),
    ...(m.tlsComparison ? [tlsTarget(m.tlsComparison)] : []),
    ...(m.sweep ? [sweepTarget(m.sweep)] : []),
  ];
  // An interrupted run has partial figures: no target is judged on them.
  const targets = measuredTargets.map((t) => (interrupted ? { ...t, met: null, measured: `${t.measured} (interrupted run)` } : t));
  const out = resolve(args.out);
  mkdirSync(out, { recursive: true });
  const caption = `${m.machine.cpus} × ${m.machine.cpuModel}, PostgreSQL ${m.machine.versions.postgres}, PgBouncer ${m.machine.versions.pgbouncer}; ${m.machine.startedAt}`;
  const charts = { main: m.runner ? "chart.svg" : undefined, sweep: m.sweep ? "sweep-chart.svg" : undefined };
  if (charts.main) writeFileSync(join(out, charts.main), renderChart(points, caption));
  if (charts.sweep && m.sweep) writeFileSync(join(out, charts.sweep), renderSweepChart(m.sweep, caption));
  const failure = m.failure ? String((m.failure as Error).message) : undefined;
  const tls = { enabled: s.cfg.tls.enabled, minVersion: s.cfg.tls.minVersion };
  const json: BenchResultsFile = { machine: m.machine, plan, tls, scenarios: points.all, ratios, cost, tlsComparison: m.tlsComparison && { ...m.tlsComparison, summary: tlsSummary(m.tlsComparison) }, sweep: m.sweep, targets, interrupted, failure };
  writeFileSync(
    join(out, "report.md"),
    renderReport({ machine: m.machine, plan, points, ratios, cost, sweep: m.sweep, tlsComparison: m.tlsComparison, tls, targets, maxConnections: m.maxConnections, upstream: m.upstream, wallSeconds, charts, interrupted }),
  );
  const text = `${JSON.stringify(json, null, 2)}\n`;
  writeFileSync(join(out, "results.json"), text);
  if (args.json) {
    mkdirSync(dirname(resolve(args.json)), { recursive: true });
    writeFileSync(resolve(args.json), text);
  }
  say(`report: ${join(out, "report.md")}`);
  return targets;
}

async function main(argv: string[]): Promise<number> {
  const setup = setUp(argv);
  if (!setup) return 0;
  const wallStart = performance.now();
  const controller = new AbortController();
  const live: LocalStack[] = [];
  watchInterrupts(controller, () => live);
  const measured = await measure(setup, controller.signal, live);
  const interrupted = controller.signal.aborted;
  if (!measured) return interrupted ? 130 : 1;
  const targets = writeResults(setup, measured, interrupted, (performance.now() - wallStart) / 1000);
  for (const t of targets) say(`target ${t.met === null ? "not measured" : t.met ? "met" : "MISSED"}: ${t.target} — ${t.measured}`);
  return interrupted ? 130 : measured.failure ? 1 : 0;
}

runCli(
  (argv) =>
    main(argv).catch((err: unknown) => {
      killAllWorkers();
      killAllPgbench();
      throw err;
    }),
  { exit: true },
);
