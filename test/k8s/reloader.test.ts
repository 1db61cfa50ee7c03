/**
 * The PgBouncer pod's reloader: its heartbeat is replaced in one step (temp file + rename), and its
 * probes tell a loop that has not beaten yet from one that is broken. The scripts run in this machine's
 * sh against a heartbeat file in a temporary folder.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { HEARTBEAT_STALE_SECONDS, reloaderProbeCommand, reloaderScript } from "../../infra/k8s/manifests/pgbouncer-drain.ts";
import { waitFor } from "../../lib/wait.ts";
import { devConfig } from "./fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-reloader-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.kill("SIGKILL");
});

function probe(kind: "liveness" | "readiness", heartbeat: string) {
  const [cmd, ...args] = reloaderProbeCommand(kind, heartbeat);
  const r = spawnSync(cmd!, args, { encoding: "utf8" });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

describe("the reloader's probes", () => {
  const now = () => Math.floor(Date.now() / 1000);

  it("before the first heartbeat: not ready, but alive (\"not yet\", not \"broken\")", () => {
    const hb = join(dir, "absent", "heartbeat");
    expect(probe("readiness", hb)).toEqual({ status: 1, out: "reloader: no heartbeat yet" });
    expect(probe("liveness", hb)).toEqual({ status: 0, out: "reloader: no heartbeat yet" });
  });

  it("a fresh heartbeat is ready and alive", () => {
    const hb = join(dir, "fresh");
    writeFileSync(hb, `${now()}\n`);
    expect(probe("readiness", hb)).toEqual({ status: 0, out: "" });
    expect(probe("liveness", hb)).toEqual({ status: 0, out: "" });
  });

  it("a stale heartbeat fails both, saying how old it is", () => {
    const hb = join(dir, "stale");
    writeFileSync(hb, `${now() - HEARTBEAT_STALE_SECONDS - 5}\n`);
    for (const kind of ["readiness", "liveness"] as const) {
      const r = probe(kind, hb);
      expect(r.status, kind).toBe(1);
      expect(r.out, kind).toMatch(/^reloader: last heartbeat 6\d s ago$/);
    }
  });

  it("an empty or garbled heartbeat fails with its content, not a shell arithmetic error", () => {
    const hb = join(dir, "empty");
    for (const content of ["", "12ab\n"]) {
      writeFileSync(hb, content);
      const r = probe("liveness", hb);
      expect(r.status).toBe(1);
      expect(r.out).toBe(`reloader: heartbeat unreadable: ${content.trim()}`.trim());
    }
  });
});

describe("the reloader's heartbeat", () => {
  it("is replaced by a rename on every beat (a new inode), never rewritten in place", async () => {
    const hb = join(dir, "run", "heartbeat");
    const watched = join(dir, "watched.ini");
    writeFileSync(watched, "[pgbouncer]\n");
    const loop = spawn("sh", ["-c", reloaderScript(devConfig(), [watched], hb)], { stdio: "ignore" });
    running.push(loop);
    const first = await waitFor("the first heartbeat", () => statSync(hb, { throwIfNoEntry: false })?.ino, 10_000, 20);
    // The loop beats every RELOAD_POLL_SECONDS (5 s); the next beat is a new file renamed over the old.
    const second = await waitFor("the second heartbeat", () => ((i) => (i !== undefined && i !== first ? i : undefined))(statSync(hb, { throwIfNoEntry: false })?.ino), 15_000, 50);
    expect(second).not.toBe(first);
    expect(probe("liveness", hb)).toEqual({ status: 0, out: "" });
  });
});
