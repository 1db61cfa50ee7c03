import { spawn } from "node:child_process";
import { join } from "node:path";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeEnvironment } from "../../../infra/render/probe.ts";
import { clientTlsOf } from "../../../local/stack.ts";
import { get, startProbeFixture, type ProbeFixture } from "./fixture.ts";

let f: ProbeFixture;
/**
 * The grace period is a deadline against a stuck request; these tests are about what happens to the
 * requests, so it is set out of reach of a machine whose cores are busy elsewhere.
 */
const GRACE_MS = "600000";

beforeAll(async () => {
  f = await startProbeFixture();
});

afterAll(async () => {
  await f?.stop();
});

describe("graceful shutdown", () => {
  it("finishes in-flight requests and drops none when closed under load", async () => {
    const probe = await f.startProbe({ SHUTDOWN_GRACE_MS: GRACE_MS });
    const client = new Agent({ connections: 200 });
    const key = `shutdown-${Date.now()}`;
    try {
      type Body = { ok?: boolean; pg?: { writeId: string }; error?: { code: string } };
      const replies = Array.from({ length: 400 }, () =>
        get<Body>(`${probe.url}/probe?key=${key}`, client).catch((err: Error & { code?: string }) => ({
          status: 0,
          body: { error: { code: err.code ?? err.message } } as Body,
          text: "",
        })),
      );
      // Close once the probe has taken requests on, however long the machine takes to get there.
      let answered = 0;
      for (const r of replies) void r.then(() => answered++);
      let inFlight = 0;
      while (inFlight === 0 && answered < replies.length) {
        await new Promise((r) => setImmediate(r));
        inFlight = (await probe.stats()).inFlight;
      }
      const closed = probe.close();
      const readyDuringDrain = await probe.readiness();
      const results = await Promise.all(replies);
      await closed;

      expect(inFlight).toBeGreaterThan(0);
      expect(readyDuringDrain).toMatchObject({ ready: false, failing: ["draining"] });
      // A request either completed, was refused with an explicit, retryable 503 `draining`, or never
      // reached the probe: its connect was refused, or it sat in the kernel's accept backlog when the
      // listener closed and was reset (this client reconnects at once, so it keeps some there).
      const outcomes = results.map((r) => (r.status === 200 ? "ok" : `${r.status}:${r.body.error?.code}`));
      const allowed = new Set(["ok", "503:draining", "0:ECONNREFUSED", "0:ECONNRESET", "0:UND_ERR_SOCKET"]);
      expect(outcomes.filter((o) => !allowed.has(o))).toEqual([]);
      // No request was dropped after the probe took it on: the writes in the database are exactly the
      // acknowledged ones — none acknowledged and lost, none done and never answered.
      const acknowledged = results.flatMap((r) => (r.status === 200 && r.body.pg ? [r.body.pg.writeId] : [])).sort();
      expect(acknowledged.length).toBeGreaterThan(0);
      const rows = await f.query<{ id: string }>("SELECT id FROM probe_writes WHERE counter_id = $1 ORDER BY id", [key]);
      expect(rows.map((r) => r.id)).toEqual(acknowledged);
    } finally {
      await client.close();
    }
  });

  it("makes close idempotent and refuses new connections afterwards", async () => {
    const probe = await f.startProbe();
    await Promise.all([probe.close(), probe.close()]);
    await probe.close();
    await expect(get(`${probe.url}/healthz`)).rejects.toThrow();
  });

  it("exits 0 on SIGTERM when run as a process, after printing its listening line", async () => {
    const env = {
      ...process.env,
      ...probeEnvironment(f.stack.config, {
        databaseUrl: f.stack.pgbouncer.url,
        redisUrl: f.stack.redis.url,
        tls: clientTlsOf(f.stack),
        host: "127.0.0.1",
        port: 0,
      }),
      SHUTDOWN_GRACE_MS: GRACE_MS,
    };
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../../../app-probe/src/main.ts")], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let out = "";
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line; output so far: ${out}`)), 30_000);
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"listening"|"msg":"listening".*"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1] ?? m[2] ?? "");
          }
        });
        child.once("exit", (code) => reject(new Error(`exited early (${code}): ${out}`)));
      });
      expect((await get(`${url}/probe`)).status).toBe(200);
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      for (const secret of f.secrets) expect(out).not.toContain(secret);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });

  it("exits 1 with every bad variable listed and no password when the environment is invalid", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../../../app-probe/src/main.ts")], {
      env: { PATH: process.env.PATH, DATABASE_URL: "mysql://app:hunter2secret@db/app", PG_POOL_MAX: "zero" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code).toBe(1);
    for (const name of ["DATABASE_URL", "REDIS_URL", "PG_POOL_MAX"]) expect(out).toContain(name);
    expect(out).not.toContain("hunter2secret");
  });
});
