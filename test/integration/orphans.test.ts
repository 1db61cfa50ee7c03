/**
 * Whatever kills `npm start`, no server outlives it; a later start reclaims its data folder and never
 * deletes one a live server uses.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { childrenOf } from "../../lib/proc.ts";
import { layoutOf } from "../../local/files.ts";
import { PROJECT_DIR, startLocalStack } from "../../local/stack.ts";
import { hasParentDeathSignal, serverUser } from "../../local/system.ts";
import { findBinaries } from "../../local/binaries.ts";
import { isAlive, query, waitFor } from "./fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-orphans-"));
chmodSync(dir, 0o755);
/** Every process a test started or learned of, killed by pid if a test fails half-way. */
const started = new Set<number>();
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

interface Info {
  postgres: { url: string; pid: number };
  pgbouncer: { pid: number };
  redis: { pid: number };
  probe?: { pid: number };
  dataDir: string;
}

/** `npm start --silent -- ...` in its own process group, as `timeout`, CI runners and IDE task runners run it. */
function npmStart(args: string[]) {
  const child = spawn("npm", ["start", "--silent", "--", "--free-ports", ...args], { cwd: PROJECT_DIR, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  started.add(child.pid!);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const info = () => waitFor("the JSON line", async () => (stdout.includes("\n") ? (JSON.parse(stdout.trim()) as Info) : undefined), 90_000);
  return { child, exited, info, out: () => stdout, err: () => stderr };
}

function group(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // the group is gone already
  }
}

/** npm itself exits at once on SIGTERM; the servers going away is what says the CLI stopped them. */
async function stopAndWait(child: ChildProcess, pids: number[]): Promise<void> {
  group(child, "SIGTERM");
  await waitFor("the servers to stop", async () => (pids.some(isAlive) ? undefined : true), 30_000);
}

describe("no server outlives the CLI", () => {
  it("has a parent-death signal to give the servers on this machine", () => {
    expect(hasParentDeathSignal(), "setpriv (util-linux) is needed for servers to die with a SIGKILLed CLI").toBe(true);
  });

  it("leaves nothing running when its process group gets SIGTERM and then SIGKILL in the middle of the stop", async () => {
    const cli = npmStart(["--json", "--data-dir", join(dir, "killed")]);
    try {
      const info = await cli.info();
      const servers = [info.postgres.pid, info.pgbouncer.pid, info.redis.pid, info.probe!.pid];
      // PostgreSQL's helpers and backends too: a backend that outlives its postmaster holds the data folder.
      const pids = [...servers, ...childrenOf(info.postgres.pid)];
      for (const pid of pids) started.add(pid);
      expect(servers.every(isAlive)).toBe(true);
      group(cli.child, "SIGTERM");
      await waitFor("the CLI to begin its graceful stop", async () => (cli.err().includes("SIGTERM: stopping") ? true : undefined));
      group(cli.child, "SIGKILL");
      await waitFor("every server to be gone", async () => (pids.some(isAlive) ? undefined : true), 15_000);
      expect(pids.filter(isAlive)).toEqual([]);
    } finally {
      group(cli.child, "SIGKILL");
    }
  });

  it("stops a PostgreSQL an earlier run left on its data folder, and starts", async () => {
    const dataDir = join(dir, "leftover");
    const first = await startLocalStack({ dataDir, fresh: true, freePorts: true, installMissing: false });
    await first.stop();
    const l = layoutOf(dataDir);
    const user = serverUser();
    const bins = findBinaries({ install: false, say: () => undefined });
    const leftover = spawn(join(bins.postgresBin, "postgres"), ["-D", l.pgData, "-c", `config_file=${join(l.confDir, "postgresql.conf")}`], {
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      detached: true,
      stdio: "ignore",
    });
    started.add(leftover.pid!);
    await waitFor("the left-over postgres to accept connections", async () => (readFileSync(join(l.pgData, "postmaster.pid"), "utf8").includes("ready") ? true : undefined));
    const cli = npmStart(["--json", "--no-probe", "--data-dir", dataDir]);
    try {
      const info = await cli.info();
      expect(cli.err()).toContain(`postgres (pid ${leftover.pid}) of an earlier run still runs on this data folder: stopping it`);
      expect(isAlive(leftover.pid!)).toBe(false);
      expect(await query(info.postgres.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
      await stopAndWait(cli.child, [info.postgres.pid, info.pgbouncer.pid, info.redis.pid]);
    } finally {
      group(cli.child, "SIGKILL");
    }
  });

  it("refuses --fresh on a data folder another running CLI uses, says what to do and deletes nothing", async () => {
    const dataDir = join(dir, "busy");
    const running = npmStart(["--json", "--no-probe", "--data-dir", dataDir]);
    try {
      const info = await running.info();
      const second = npmStart(["--fresh", "--no-probe", "--data-dir", dataDir]);
      expect(await second.exited).toBe(1);
      expect(second.err()).toMatch(/another `npm start` \(pid \d+\) is running the stack in .* Stop it first \(Ctrl-C in its terminal, or `kill \d+`\)/);
      expect(second.err()).not.toMatch(/\n\s+at /);
      expect(second.out()).toBe("");
      expect(existsSync(join(dataDir, "pgdata", "PG_VERSION"))).toBe(true);
      expect(await query(info.postgres.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
      await stopAndWait(running.child, [info.postgres.pid, info.pgbouncer.pid, info.redis.pid]);
    } finally {
      group(running.child, "SIGKILL");
    }
  });
});
