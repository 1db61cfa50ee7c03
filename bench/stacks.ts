/**
 * The three local stacks a run needs, side by side in one temporary folder: the project's defaults
 * (PgBouncer in transaction mode, max_connections as configured) for the stack and pgbench; the same
 * defaults again for the scenarios that storm PostgreSQL with connections (before, app pools at the
 * default max_connections); and the same stack with max_connections raised, for app-pool-direct.
 *
 * The storms get a PostgreSQL of their own, and the runner waits for every server to be idle before a
 * point: a server still working off a storm's queued logins takes CPU from whatever runs next.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sweepOverride, type NumericSweep } from "./sweep-spec.ts";
import { PROJECT_DIR, startLocalStack, type LocalStack } from "../local/stack.ts";
import { pgbenchInit } from "./pgbench.ts";
import { Monitor } from "./sampler.ts";

export interface BenchStack {
  stack: LocalStack;
  monitor: Monitor;
  /** Rows in pgbench_accounts. */
  rows: number;
  /** Whether the probe app runs (its /upstream is then the HTTP scenario's server). */
  probe: boolean;
}

export interface BenchStacks {
  dir: string;
  main: BenchStack;
  /** Project defaults, for the scenarios that exhaust connections. */
  storm: BenchStack;
  raised: BenchStack;
  maxConnections: { main: number; raised: number };
  /** Why the probe is not used, when it is not. */
  probeNote: string;
  stop(): Promise<void>;
}

type Say = (m: string) => void;

async function start(dir: string, name: string, overrides: Record<string, unknown> | undefined, probe: boolean, say: Say): Promise<LocalStack> {
  return startLocalStack({
    installMissing: false,
    dataDir: join(dir, name),
    fresh: true,
    // Two stacks run side by side in a comparison.
    freePorts: true,
    probe,
    ...(overrides ? { overrides } : {}),
    log: (m) => say(`${name}: ${m}`),
  });
}

async function ready(stack: LocalStack, probe: boolean, signal: AbortSignal): Promise<BenchStack> {
  const monitor = await Monitor.open({
    superuserUrl: stack.postgres.url,
    database: stack.config.postgres.database,
    postmasterPid: stack.postgres.pid,
    pids: {
      pgbouncer: stack.pgbouncer.pid,
      redis: stack.redis.pid,
      ...(stack.probe ? { probe: stack.probe.pid } : {}),
    },
  });
  const rows = await pgbenchInit(stack.postgres.appUrl, signal);
  return { stack, monitor, rows, probe };
}

function benchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "pooling-bench-"));
  // As root the servers run as `postgres`, who must be able to enter this folder.
  chmodSync(dir, 0o755);
  return dir;
}

/** A stack of its own for one variant of the project's settings, idle until its points run. */
export interface SideStack extends BenchStack {
  /** Stops this stack's servers; idempotent. */
  stop(): Promise<void>;
}

export interface SweepStack extends SideStack {
  value: number;
}

export interface SweepStacks {
  stacks: SweepStack[];
  stop(): Promise<void>;
}

/**
 * One stack per variant (the project's defaults with its overrides merged over them), without the
 * probe, in a folder of their own. All start at once (alongside the other stacks); if any fails, every
 * one that started is stopped and the failure thrown.
 */
async function startSideStacks(variants: ReadonlyArray<{ name: string; overrides: Record<string, unknown> }>, say: Say, signal: AbortSignal): Promise<{ stacks: SideStack[]; stop(): Promise<void> }> {
  const dir = benchDir();
  const started = await Promise.allSettled(variants.map((v) => start(dir, v.name, v.overrides, false, say)));
  const readied = await Promise.allSettled(started.map((s) => (s.status === "fulfilled" ? ready(s.value, false, signal) : Promise.reject(s.reason as Error))));
  const stacks = readied.flatMap((r) => {
    if (r.status !== "fulfilled") return [];
    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= r.value.monitor.close().then(() => r.value.stack.stop()));
    return [{ ...r.value, stop }];
  });
  const stopAll = async () => {
    await Promise.allSettled([
      ...stacks.map((s) => s.stop()),
      // A stack that started but whose monitor or pgbench tables failed is not in `stacks`.
      ...started.map((s, i) => (s.status === "fulfilled" && readied[i]?.status !== "fulfilled" ? s.value.stop() : undefined)),
    ]);
    rmSync(dir, { recursive: true, force: true });
  };
  const failed = [...started, ...readied].find((x) => x.status === "rejected");
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  return { stacks, stop: stopAll };
}

/** One stack per swept value, waiting idle for its turn. */
export async function startSweepStacks(sweep: NumericSweep, say: Say, signal: AbortSignal): Promise<SweepStacks> {
  const side = await startSideStacks(sweep.values.map((v) => ({ name: `sweep-${v}`, overrides: sweepOverride(sweep, v) })), say, signal);
  return { stacks: side.stacks.map((s, i) => Object.assign(s, { value: sweep.values[i] ?? Number.NaN })), stop: side.stop };
}

export interface TlsStack extends SideStack {
  tls: boolean;
}

export interface TlsStacks {
  on: TlsStack;
  off: TlsStack;
  stop(): Promise<void>;
}

/** --tls-compare's two stacks: the project's settings with `pooling:tls.enabled` true, and false. */
export async function startTlsStacks(say: Say, signal: AbortSignal): Promise<TlsStacks> {
  const side = await startSideStacks(
    [true, false].map((enabled) => ({ name: `tls-${enabled ? "on" : "off"}`, overrides: { tls: { enabled } } })),
    say,
    signal,
  );
  const [on, off] = side.stacks as [SideStack, SideStack];
  return { on: Object.assign(on, { tls: true }), off: Object.assign(off, { tls: false }), stop: side.stop };
}

/**
 * Starts both stacks; `raisedMaxConnections` is what app-pool-direct needs. The probe is started on the
 * main stack when its source is present; if it does not come up, the stack starts without it.
 */
export async function startStacks(raisedMaxConnections: number, say: Say, signal: AbortSignal): Promise<BenchStacks> {
  const dir = benchDir();
  const started: LocalStack[] = [];
  const stopAll = async () => {
    await Promise.allSettled(started.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    let probeNote = "";
    const wantProbe = existsSync(join(PROJECT_DIR, "app-probe", "src", "main.ts"));
    const mainStack = start(dir, "main", undefined, wantProbe, say).catch(async (err: Error) => {
      if (!wantProbe) throw err;
      probeNote = `the probe did not start (${err.message.split("\n")[0]}); a node:http server in a load process answers instead`;
      say(`main: ${probeNote}`);
      return start(dir, "main", undefined, false, say);
    });
    const raisedStack = start(dir, "raised", { postgres: { maxConnections: raisedMaxConnections } }, false, say);
    const stormStack = start(dir, "storm", undefined, false, say);
    const [m, r, st] = await Promise.allSettled([mainStack, raisedStack, stormStack]);
    for (const s of [m, r, st]) if (s.status === "fulfilled") started.push(s.value);
    for (const s of [m, r, st]) if (s.status === "rejected") throw s.reason;
    if (m.status !== "fulfilled" || r.status !== "fulfilled" || st.status !== "fulfilled") throw new Error("unreachable");
    if (!wantProbe) probeNote = "app-probe is not present; a node:http server in a load process answers instead";
    const readied = await Promise.allSettled([
      ready(m.value, m.value.probe !== undefined, signal),
      ready(r.value, false, signal),
      ready(st.value, false, signal),
    ]);
    const failed = readied.find((x) => x.status === "rejected");
    if (failed) {
      // Close the monitors that did open before the servers go away under them.
      await Promise.allSettled(readied.map((x) => (x.status === "fulfilled" ? x.value.monitor.close() : undefined)));
      throw failed.reason;
    }
    const [main, raised, storm] = readied.map((x) => (x as PromiseFulfilledResult<BenchStack>).value) as [BenchStack, BenchStack, BenchStack];
    return {
      dir,
      main,
      storm,
      raised,
      maxConnections: { main: m.value.config.postgres.maxConnections, raised: r.value.config.postgres.maxConnections },
      probeNote,
      async stop() {
        await Promise.allSettled([main.monitor.close(), raised.monitor.close(), storm.monitor.close()]);
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
