/**
 * Runs `npm run bench -- --quick` once and checks that its JSON is complete and sane. Speed is never
 * asserted: the figures depend on the machine. The bench runs in its own process group, which is
 * interrupted (then killed) after the test, also when the test fails, so no server outlives it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCENARIOS } from "../../bench/results.ts";

const PROJECT = new URL("../..", import.meta.url).pathname;
const RUN_TIMEOUT_MS = 240_000;

interface Scenario {
  name: string;
  clients: number;
  tps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  peakBackends: number;
  connectionsOpened: number;
  transactions: number;
  reuseRatio: number;
  acquireP99Ms: number | null;
}

interface BenchJson {
  machine: Record<string, unknown>;
  scenarios: Scenario[];
  ratios: Record<string, unknown>;
}

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
    const deadline = Date.now() + waitMs;
    while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  }
}

describe("npm run bench -- --quick", () => {
  const dir = mkdtempSync(join(tmpdir(), "pooling-bench-test-"));
  const jsonFile = join(dir, "bench.json");
  let child: ChildProcess | undefined;
  let exit: { code: number | null; stderr: string } | undefined;

  beforeAll(async () => {
    // Its own process group, so that everything it starts (servers, load processes) can be reached at once.
    child = spawn(process.execPath, ["--import", "tsx", "bench/cli.ts", "--quick", "--json", jsonFile, "--out", join(dir, "out")], {
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

  const result = (): BenchJson => {
    expect(exit?.code, exit?.stderr).toBe(0);
    return JSON.parse(readFileSync(jsonFile, "utf8")) as BenchJson;
  };

  it("exits 0 and leaves no process of its group behind", async () => {
    expect(exit?.code, exit?.stderr).toBe(0);
    const pgid = child!.pid!;
    // A process that has just been sent away may need a moment to be gone.
    const deadline = Date.now() + 10_000;
    while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(groupAlive(pgid), `left behind:\n${groupMembers(pgid)}`).toBe(false);
  });

  it("reports every scenario with finite, non-negative figures", () => {
    const json = result();
    expect(new Set(json.scenarios.map((s) => s.name))).toEqual(new Set(Object.keys(SCENARIOS)));
    for (const s of json.scenarios) {
      for (const key of ["clients", "tps", "p50Ms", "p99Ms", "errors", "peakBackends", "connectionsOpened", "transactions", "reuseRatio"] as const) {
        expect(Number.isFinite(s[key]) && s[key] >= 0, `${s.name}@${s.clients}.${key} = ${s[key]}`).toBe(true);
      }
      expect(s.transactions, `${s.name}@${s.clients} completed nothing`).toBeGreaterThan(0);
      expect(s.reuseRatio).toBeLessThanOrEqual(1);
      expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
      if (s.acquireP99Ms !== null) expect(Number.isFinite(s.acquireP99Ms) && s.acquireP99Ms >= 0).toBe(true);
    }
  });

  it("measures connection acquire time wherever a connection is taken per request", () => {
    for (const s of result().scenarios.filter((x) => ["before", "before-serial", "stack", "app-pool-direct"].includes(x.name))) {
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
    for (const key of ["stackVsBeforeTps", "stackVsAppPoolDirectTps", "stackVsPgbenchPgbouncerTps", "httpKeepAliveVsNewConnection"]) {
      expect(json.ratios[key], key).toEqual(expect.any(Number));
    }
  });
});
