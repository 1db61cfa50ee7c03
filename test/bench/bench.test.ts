/**
 * Runs `npm run bench -- --quick` once, with a two-value sweep, and checks that its JSON is complete and sane. Speed is never
 * asserted: the figures depend on the machine. The bench runs in its own process group, which is
 * interrupted (then killed) after the test, also when the test fails, so no server outlives it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCENARIOS, type BenchResultsFile } from "../../bench/results.ts";
import { becomesTrue } from "../../lib/wait.ts";

const PROJECT = new URL("../..", import.meta.url).pathname;
const RUN_TIMEOUT_MS = 240_000;
/** Two pool sizes any stack config of this project accepts (at least minPoolSize 10, within the connection budget). */
const SWEPT = [10, 20];
const PG_SCENARIOS = ["before-serial", "before", "app-pool-direct", "app-pool-direct-default-max", "stack", "pgbench-direct", "pgbench-pgbouncer"];

/**
 * The seed's "before" (a new connection per request) stormed out: past what PostgreSQL and the machine
 * can take, every request refused ("too many clients") or timed out connecting, so nothing completed.
 * That is the scenario failing the way the seed describes (the full run's before@10000 does it on a
 * quiet machine; --quick's before@500 on a loaded one), not the bench: such a point has no latency,
 * acquire time or CPU per transaction to check. Any other error kind, or no error at all, still fails.
 */
const CONNECT_FAILURES = ["too_many_clients", "connect_timeout"];
const stormedOut = (s: BenchResultsFile["scenarios"][number]) =>
  s.name === "before" && s.transactions === 0 && s.errors > 0 && Object.keys(s.errorsByKind).every((k) => CONNECT_FAILURES.includes(k));

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `ps` lines of the group's processes, for the failure message. */
function groupMembers(pgid: number): string {
  const r = spawnSync("ps", ["-eo", "pid,pgid,ppid,stat,args"], { encoding: "utf8" });
  return (r.stdout ?? "")
    .split("\n")
    .filter((l) => l.trim().split(/\s+/)[1] === String(pgid))
    .join("\n");
}

async function stopGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return;
  for (const [signal, waitMs] of [["SIGINT", 30_000], ["SIGKILL", 5000]] as const) {
    if (!groupAlive(pgid)) return;
    try {
      process.kill(-pgid, signal);
    } catch {
      return;
    }
    if (await becomesTrue(() => !groupAlive(pgid), waitMs, 200)) return;
  }
}

describe("npm run bench -- --quick", () => {
  const dir = mkdtempSync(join(tmpdir(), "pooling-bench-test-"));
  const jsonFile = join(dir, "bench.json");
  let child: ChildProcess | undefined;
  let exit: { code: number | null; stderr: string } | undefined;

  beforeAll(async () => {
    // Its own process group, so that everything it starts (servers, load processes) can be reached at once.
    child = spawn(process.execPath, ["--import", "tsx", "bench/cli.ts", "--quick", "--sweep", `pgbouncer.defaultPoolSize=${SWEPT.join(",")}`, "--tls-compare", "--json", jsonFile, "--out", join(dir, "out")], {
      cwd: PROJECT,
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const c = child;
    exit = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ code: null, stderr: `${stderr}\n(timed out after ${RUN_TIMEOUT_MS / 1000}s)` }), RUN_TIMEOUT_MS);
      c.once("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  }, RUN_TIMEOUT_MS + 10_000);

  afterAll(async () => {
    if (child) await stopGroup(child);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const result = (): BenchResultsFile => {
    expect(exit?.code, exit?.stderr).toBe(0);
    return JSON.parse(readFileSync(jsonFile, "utf8")) as BenchResultsFile;
  };

  it("exits 0 and leaves no process of its group behind", async () => {
    expect(exit?.code, exit?.stderr).toBe(0);
    const pgid = child!.pid!;
    // A process that has just been sent away may need a moment to be gone.
    const gone = await becomesTrue(() => !groupAlive(pgid), 10_000, 200);
    expect(gone, `left behind:\n${groupMembers(pgid)}`).toBe(true);
  });

  it("reports every scenario with finite, non-negative figures", () => {
    const json = result();
    expect(new Set(json.scenarios.map((s) => s.name))).toEqual(new Set(Object.keys(SCENARIOS)));
    for (const s of json.scenarios) {
      for (const key of ["clients", "tps", "p50Ms", "p99Ms", "errors", "peakBackends", "connectionsOpened", "transactions", "reuseRatio"] as const) {
        expect(Number.isFinite(s[key]) && s[key] >= 0, `${s.name}@${s.clients}.${key} = ${s[key]}`).toBe(true);
      }
      if (!stormedOut(s)) expect(s.transactions, `${s.name}@${s.clients} completed nothing: ${JSON.stringify(s.errorsByKind)}`).toBeGreaterThan(0);
      expect(s.reuseRatio).toBeLessThanOrEqual(1);
      expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
      if (s.acquireP99Ms !== null) expect(Number.isFinite(s.acquireP99Ms) && s.acquireP99Ms >= 0).toBe(true);
    }
  });

  it("measures connection acquire time wherever a connection is taken per request", () => {
    // The smallest level's before completes on any machine: a stormed-out point is never the only one.
    expect(result().scenarios.some((x) => x.name === "before" && x.transactions > 0 && typeof x.acquireP99Ms === "number")).toBe(true);
    for (const s of result().scenarios.filter((x) => ["before", "before-serial", "stack", "app-pool-direct"].includes(x.name) && !stormedOut(x))) {
      expect(typeof s.acquireP99Ms, `${s.name}@${s.clients}`).toBe("number");
    }
  });

  it("sweeps before, stack and app-pool-direct over the same client counts", () => {
    const levels = (name: string) => result().scenarios.filter((s) => s.name === name).map((s) => s.clients).sort((a, b) => a - b);
    expect(levels("stack").length).toBeGreaterThanOrEqual(2);
    expect(levels("before")).toEqual(levels("stack"));
    expect(levels("app-pool-direct")).toEqual(levels("stack"));
  });

  it("describes the machine and gives the ratios", () => {
    const json = result();
    expect(json.machine).toMatchObject({ cpus: expect.any(Number), cpuModel: expect.any(String), cpusAllowed: expect.any(Object) });
    // stack ÷ before has no value where before completed nothing; at every other level it is a number.
    const before = (clients: number) => json.scenarios.find((s) => s.name === "before" && s.clients === clients)!;
    const keys = ["stackVsAppPoolDirectTps", "stackVsPgbenchPgbouncerTps", "httpKeepAliveVsNewConnection", ...(stormedOut(before(json.ratios.referenceClients)) ? [] : ["stackVsBeforeTps"])] as const;
    for (const key of keys) expect(json.ratios[key as keyof typeof json.ratios], key).toEqual(expect.any(Number));
    for (const l of json.ratios.byLevel) if (!stormedOut(before(l.clients))) expect(l.stackVsBeforeTps, `stack ÷ before at ${l.clients}`).toEqual(expect.any(Number));
  });

  it("gives CPU per transaction by part and busy backends for every PostgreSQL point", () => {
    for (const s of result().scenarios.filter((x) => PG_SCENARIOS.includes(x.name) && !stormedOut(x))) {
      const what = `${s.name}@${s.clients}`;
      expect(s.cpuPerTransactionUs, what).toBeDefined();
      expect(s.cpuPerTransactionUs!.postgres, what).toBeGreaterThan(0);
      for (const part of ["pgbouncer", "load"] as const) expect(s.cpuPerTransactionUs![part], `${what} ${part}`).toBeGreaterThanOrEqual(0);
      expect(s.busyBackends.peak, what).toBeLessThanOrEqual(s.peakBackends);
      expect(s.busyBackends.mean, what).toBeLessThanOrEqual(s.busyBackends.peak);
    }
  });

  it("splits every point's rest of the machine into the bench, softirq threads, other processes and unattributed kernel time", () => {
    const scenarios = result().scenarios;
    for (const s of scenarios) {
      const what = `${s.name}@${s.clients}`;
      for (const part of ["bench", "softirqThreads", "otherProcesses", "kernelUnattributed", "machineSoftirq"]) expect(s.cpuSeconds[part], `${what} ${part}`).toBeGreaterThanOrEqual(0);
      expect(s.topOtherProcesses, what).toEqual(expect.any(Array));
    }
    // The bench's own process samples every point, so over the run it uses some CPU.
    expect(scenarios.reduce((a, s) => a + (s.cpuSeconds.bench ?? 0), 0)).toBeGreaterThan(0);
  });

  it("measures pgbench's own CPU as the load generator's", () => {
    for (const s of result().scenarios.filter((x) => x.name.startsWith("pgbench-"))) expect(s.cpuPerTransactionUs?.load, `${s.name}@${s.clients}`).toBeGreaterThan(0);
  });

  it("compares the stack's PostgreSQL CPU per transaction with pgbench's through PgBouncer, in the targets too", () => {
    const json = result();
    expect(json.cost.protocol?.ratio).toBeGreaterThan(0);
    expect(json.targets.some((t) => t.target.includes("PostgreSQL CPU per transaction") && t.measured.includes("pgbench-pgbouncer"))).toBe(true);
  });

  it("runs the scenarios with TLS on, the stack's default", () => {
    expect(result().tls).toMatchObject({ enabled: true });
  });

  it("with --tls-compare, runs a new connection per request and the stack scenario on a TLS and a plaintext stack, and judges the 15% target", () => {
    const { tlsComparison, targets } = result();
    const cmp = tlsComparison!;
    const rows = cmp.points.map((p) => `${p.name}@${p.clients} ${p.tls ? "on" : "off"}`).sort();
    expect(rows).toEqual([`before-serial@1 off`, `before-serial@1 on`, `stack@${cmp.level} off`, `stack@${cmp.level} on`]);
    for (const p of cmp.points) {
      const what = `${p.name} tls ${p.tls}`;
      expect(p.errors, what).toBe(0);
      expect(p.transactions, what).toBeGreaterThan(0);
      expect(p.cpuPerTransactionUs?.postgres, what).toBeGreaterThan(0);
    }
    // How much slower a TLS connection is, is a figure of the machine: only that both were timed.
    for (const p of cmp.points.filter((x) => x.name === "before-serial")) expect(p.acquireP50Ms).toBeGreaterThan(0);
    const t = targets.find((x) => x.target.includes("plaintext cost per transaction"));
    expect(t?.met, t?.measured).toEqual(expect.any(Boolean));
  });

  it("sweeps the stack scenario over every value at every sweep level, and reports it", () => {
    const sweep = result().sweep!;
    expect(sweep.key).toBe("pooling:pgbouncer.defaultPoolSize");
    expect(sweep.currentValue).toEqual(expect.any(Number));
    const rows = sweep.points.map((p) => `${p.value}@${p.clients}`).sort();
    expect(rows).toEqual(SWEPT.flatMap((v) => sweep.levels.map((c) => `${v}@${c}`)).sort());
    for (const p of sweep.points) {
      expect(p.tps, `${p.value}`).toBeGreaterThan(0);
      expect(p.errors, `${p.value}`).toBe(0);
      // The swept pool bounds the server connections (plus PgBouncer's reserve pool, 5 by default): the value was applied.
      expect(p.peakBackends, `${p.value}`).toBeLessThanOrEqual(p.value + 5);
      expect(p.busyBackends.peak).toBeLessThanOrEqual(p.peakBackends);
      expect(p.cpuPerTransactionUs?.postgres).toBeGreaterThan(0);
    }
    const report = readFileSync(join(dir, "out", "report.md"), "utf8");
    expect(report).toContain("## Sweep: pooling:pgbouncer.defaultPoolSize");
    expect(report).toContain("## Where each transaction's cost is paid");
    expect(existsSync(join(dir, "out", "sweep-chart.svg"))).toBe(true);
  });
});
