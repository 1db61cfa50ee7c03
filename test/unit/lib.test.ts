/** lib/: the plumbing every layer shares, each piece once. */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Backoff } from "../../lib/backoff.ts";
import { intSetting, parseIni, parsePostgresqlConf } from "../../lib/ini.ts";
import { isAlive, processRef, waitGone } from "../../lib/proc.ts";
import { becomesTrue, waitFor, WaitTimeoutError } from "../../lib/wait.ts";

describe("waitFor", () => {
  it("returns the first value the condition yields", async () => {
    let calls = 0;
    expect(await waitFor("the third call", () => (++calls === 3 ? "done" : undefined), 5_000, 1)).toBe("done");
    expect(calls).toBe(3);
  });

  it("fails at its deadline with what it waited for and the last error it saw", async () => {
    const err = await waitFor("a server that never answers", () => Promise.reject(new Error("ECONNREFUSED")), 30, 5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err).toMatchObject({ code: "POOLING_WAIT_TIMEOUT", message: "timed out after 30 ms waiting for a server that never answers: ECONNREFUSED" });
  });

  it("takes a check that throws for not yet, and goes on to the value a later check yields", async () => {
    let calls = 0;
    const check = () => {
      if (++calls < 3) throw new Error("ECONNREFUSED");
      return "up";
    };
    expect(await waitFor("a server that starts late", check, 5_000, 1)).toBe("up");
    expect(calls).toBe(3);
  });

  it("checks once even when the deadline is already due", async () => {
    let calls = 0;
    expect(await waitFor("an immediate answer", () => (++calls, "now"), 0, 1)).toBe("now");
    const err = await waitFor("no answer", () => (++calls, undefined), 0, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(calls).toBe(2);
  });

  it("becomesTrue answers false at the deadline instead of throwing", async () => {
    expect(await becomesTrue(() => false, 20, 5)).toBe(false);
    expect(await becomesTrue(() => true, 20, 5)).toBe(true);
  });
});

describe("process liveness", () => {
  it("counts a zombie as gone, though the kernel still has its pid", async () => {
    // `sleep 0` is forked by sh, which then execs `sleep 30`: the new program never reaps it, so once it
    // exits it stays a zombie until its parent is gone.
    const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once("data", (d: Buffer) => resolve(d.toString()))));
      await waitFor("the forked sleep to become a zombie", () => (readFileSync(`/proc/${zombie}/stat`, "utf8").includes(") Z ") ? true : undefined), 5_000, 10);
      expect(() => process.kill(zombie, 0)).not.toThrow(); // what a kill(pid, 0) check would call alive
      expect(isAlive(zombie)).toBe(false);
      expect(await waitGone([zombie], 1_000)).toBe(true);
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("tells a reused pid from the process it remembers by its start time", () => {
    const me = processRef(process.pid)!;
    expect(me.startTime).toMatch(/^\d+$/);
    expect(isAlive(me)).toBe(true);
    expect(isAlive({ pid: process.pid, startTime: String(Number(me.startTime) + 1) })).toBe(false);
  });
});

describe("Backoff", () => {
  it("doubles from the initial delay to the maximum, and starts over on reset", () => {
    const b = new Backoff({ initialMs: 250, maxMs: 1_000 });
    expect([b.next(0), b.next(1), b.next(2), b.next(3)]).toEqual([250, 500, 1_000, 1_000]);
    b.reset();
    expect(b.next(4)).toBe(250);
  });

  it("forgets an entry untouched for twice the maximum (client-go's default)", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 400 });
    b.next(0);
    b.next(1);
    expect(b.next(1 + 801)).toBe(100);
  });
});

describe("ini and postgresql.conf", () => {
  it("keeps ; and # inside a PgBouncer value, as PgBouncer does (comments only at the start of a line)", () => {
    const ini = parseIni("; comment\n[databases]\napp = host=pg dbname=app#1\n[PgBouncer]\nDefault_Pool_Size = 20\n# listen_port = 1\n");
    expect(ini).toEqual({ databases: { app: "host=pg dbname=app#1" }, pgbouncer: { default_pool_size: "20" } });
  });

  it("reads postgresql.conf's `key value`, quotes and trailing comments; the last setting wins", () => {
    const conf = parsePostgresqlConf("max_connections = 100 # the budget\nshared_buffers '128MB'\nmax_connections = 120\n");
    expect(conf).toEqual({ max_connections: "120", shared_buffers: "128MB" });
    expect(intSetting(conf.max_connections)).toBe(120);
    expect(intSetting(conf.shared_buffers)).toBeUndefined();
  });
});
