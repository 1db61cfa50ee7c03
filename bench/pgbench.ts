/**
 * pgbench as the reference: `pgbench -S` (the same SELECT the other scenarios run, with the same
 * extended protocol) at several client counts, direct and through PgBouncer. Latency percentiles come
 * from its per-transaction log.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Histogram } from "./histogram.ts";
import { reapedChildrenCpuSeconds } from "./procfs.ts";

const running = new Set<ChildProcess>();

export function killAllPgbench(): void {
  for (const c of running) c.kill("SIGKILL");
  running.clear();
}

/** pgbench's output and the CPU seconds it used (user + system, all its threads). */
function run(url: string, args: string[], cwd: string, signal: AbortSignal): Promise<{ out: string; cpuSeconds: number }> {
  const u = new URL(url);
  const argv = ["-h", u.hostname, "-p", u.port, "-U", decodeURIComponent(u.username), ...args, u.pathname.slice(1)];
  return new Promise((resolve, reject) => {
    // pgbench runs alone: the run measures pgbench points before any load point, and the servers,
    // the other children of this process, outlive it. So the counter grows by pgbench's time only.
    const reapedBefore = reapedChildrenCpuSeconds();
    const child = spawn("pgbench", argv, { cwd, env: { PATH: process.env.PATH, PGPASSWORD: decodeURIComponent(u.password) }, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    const stop = () => child.kill("SIGINT");
    signal.addEventListener("abort", stop, { once: true });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      running.delete(child);
      signal.removeEventListener("abort", stop);
      // Node emits "exit" after it has waited for the child, so its time is in the counter by now.
      if (code === 0) resolve({ out, cpuSeconds: Math.max(0, reapedChildrenCpuSeconds() - reapedBefore) });
      else reject(new Error(`pgbench ${args.join(" ")} exited with ${code}: ${out.trim().split("\n").slice(-3).join(" / ")}`));
    });
  });
}

/** Creates pgbench_accounts and friends (scale 1: 100,000 accounts) as the app user. */
export async function pgbenchInit(appUrl: string, signal: AbortSignal): Promise<number> {
  await run(appUrl, ["-i", "-q", "-s", "1"], tmpdir(), signal);
  return 100_000;
}

export interface PgbenchResult {
  clients: number;
  tps: number;
  transactions: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  /** pgbench's "initial connection time", ms. */
  connectMs: number;
  elapsedMs: number;
  /** CPU seconds pgbench itself used: the load generator's share of the point. */
  cpuSeconds: number;
}

export function parsePgbench(out: string): Omit<PgbenchResult, "clients" | "p50Ms" | "p99Ms" | "elapsedMs" | "cpuSeconds"> {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const transactions = num(/number of transactions actually processed: (\d+)/);
  const tps = num(/tps = ([\d.]+) \(without initial connection time\)/);
  if (!Number.isFinite(transactions) || !Number.isFinite(tps)) throw new Error(`cannot read pgbench's output: ${out.slice(-300)}`);
  const failed = num(/number of failed transactions: (\d+)/);
  const connectMs = num(/initial connection time = ([\d.]+) ms/);
  return { tps, transactions, failed: Number.isFinite(failed) ? failed : 0, connectMs: Number.isFinite(connectMs) ? connectMs : 0 };
}

/** Latencies (µs, 3rd field) from every `pgbench_log.*` file in `dir`, as a histogram (ms). */
function loggedLatencies(dir: string): Histogram {
  const out = new Histogram();
  for (const f of readdirSync(dir).filter((n) => n.startsWith("pgbench_log"))) {
    for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
      const us = Number(line.split(" ")[2]);
      if (Number.isFinite(us) && line !== "") out.record(us / 1000);
    }
  }
  return out;
}

export async function pgbenchSelect(url: string, clients: number, seconds: number, signal: AbortSignal): Promise<PgbenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "pooling-pgbench-"));
  try {
    const started = performance.now();
    const threads = Math.min(clients, 2);
    const { out, cpuSeconds } = await run(url, ["-S", "-n", "-M", "extended", "-c", String(clients), "-j", String(threads), "-T", String(seconds), "-l", "--log-prefix", join(dir, "pgbench_log")], dir, signal);
    const elapsedMs = performance.now() - started;
    const lat = loggedLatencies(dir);
    return { clients, ...parsePgbench(out), p50Ms: lat.percentile(50), p99Ms: lat.percentile(99), elapsedMs, cpuSeconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
