/** Who used the rest of the machine: /proc read into a process table, and its deltas classified. */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { classifyProcesses } from "../../bench/attribution.ts";
import { parseProcessStat, processTable, type ProcessTable, type ProcessTicks } from "../../bench/procfs.ts";

/** A /proc/<pid>/stat line: state, ppid, then zeros up to utime, stime and starttime. */
function statLine(pid: number, comm: string, ppid: number, utime: number, stime: number, start: number): string {
  const f = Array.from({ length: 50 }, () => "0");
  const set = (field: number, v: string | number) => (f[field - 3] = String(v));
  set(3, "R");
  set(4, ppid);
  set(14, utime);
  set(15, stime);
  set(22, start);
  return `${pid} (${comm}) ${f.join(" ")}\n`;
}

function table(rows: Array<[pid: number, comm: string, ppid: number, ticks: number, start?: number]>): ProcessTable {
  return new Map(rows.map(([pid, comm, ppid, ticks, start = 1]) => [`${pid}@${start}`, { pid, comm, ppid, ticks } satisfies ProcessTicks]));
}

describe("the process table", () => {
  const dir = mkdtempSync(join(tmpdir(), "proc-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("reads each process's name, parent and own ticks, keyed by pid and start time", () => {
    for (const [pid, line] of [[7, statLine(7, "a) b (c", 1, 30, 12, 555)], [9, statLine(9, "ksoftirqd/0", 2, 0, 4, 3)]] as const) {
      mkdirSync(join(dir, String(pid)));
      writeFileSync(join(dir, String(pid), "stat"), line);
    }
    mkdirSync(join(dir, "11")); // vanished between the listing and the read: no stat
    mkdirSync(join(dir, "self"));
    const t = processTable(dir);
    expect([...t.entries()]).toEqual([
      ["7@555", { pid: 7, comm: "a) b (c", ppid: 1, ticks: 42 }],
      ["9@3", { pid: 9, comm: "ksoftirqd/0", ppid: 2, ticks: 4 }],
    ]);
  });

  test("refuses a line that is not a stat line", () => {
    expect(parseProcessStat(1, "garbage")).toBeUndefined();
  });
});

describe("classifying the processes' CPU", () => {
  const BENCH = 100;
  const named = (pid: number) => pid === 50 || pid === 51;

  test("splits into the bench, the softirq threads and other processes, skipping named pids and the bench's children", () => {
    const before = table([[BENCH, "node", 1, 100], [50, "postgres", 1, 10], [200, "node", BENCH, 0], [10, "ksoftirqd/0", 2, 5], [300, "sshd", 1, 20]]);
    const after = table([[BENCH, "node", 1, 150], [50, "postgres", 1, 900], [200, "node", BENCH, 500], [201, "pgbench", 200, 70], [10, "ksoftirqd/0", 2, 25], [11, "ksoftirqd/1", 2, 5], [300, "sshd", 1, 50]]);
    expect(classifyProcesses(before, after, BENCH, named)).toEqual({
      bench: 0.5,
      softirqThreads: 0.25,
      otherProcesses: 0.3,
      top: [{ comm: "sshd", processes: 1, cpuSeconds: 0.3 }],
    });
  });

  test("counts a reused pid as a new process from 0, and keeps the three largest names with their process counts", () => {
    const before = table([[400, "old", 1, 1000, 5]]);
    const after = table([[400, "new", 1, 30, 9], [401, "w", 1, 10], [402, "w", 1, 15], [403, "x", 1, 20], [404, "y", 1, 1]]);
    const c = classifyProcesses(before, after, BENCH, named);
    expect(c.otherProcesses).toBeCloseTo(0.76);
    expect(c.top).toEqual([
      { comm: "new", processes: 1, cpuSeconds: 0.3 },
      { comm: "w", processes: 2, cpuSeconds: 0.25 },
      { comm: "x", processes: 1, cpuSeconds: 0.2 },
    ]);
  });

  test("on the real /proc, charges this process to the bench and a detached CPU burner to other processes", async () => {
    const before = processTable();
    // Started through a shell that exits at once, so the burner is no descendant of this process.
    const sh = spawn("sh", ["-c", `"${process.execPath}" -e 'for(;;){}' >/dev/null 2>&1 & echo $!`], { stdio: ["ignore", "pipe", "inherit"] });
    const burner = Number(await new Promise<string>((resolve) => sh.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()))));
    try {
      const ticksOf = (pid: number) => [...processTable().values()].find((p) => p.pid === pid)?.ticks ?? 0;
      const own = ticksOf(process.pid);
      // Burn here too, until both have used at least 10 ticks (0.1 s) more: counts, not time.
      while (ticksOf(process.pid) < own + 10 || ticksOf(burner) < 10) for (let i = 0; i < 1e6; i++) Math.sqrt(i);
      const c = classifyProcesses(before, processTable(), process.pid, () => false);
      expect(c.bench).toBeGreaterThanOrEqual(0.1);
      expect(c.otherProcesses).toBeGreaterThanOrEqual(0.1);
      expect(c.top.find((u) => u.comm === "node")?.cpuSeconds).toBeGreaterThanOrEqual(0.1);
    } finally {
      process.kill(burner);
    }
  });
});
