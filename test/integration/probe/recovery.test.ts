import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, get, startProbeFixture, type ProbeFixture } from "./fixture.ts";

let f: ProbeFixture;

type Ready = { ready: boolean; failing: string[] };

beforeAll(async () => {
  f = await startProbeFixture();
});

afterAll(async () => {
  await f?.stop();
});

const readyz = () => get<Ready>(`${f.probe.url}/readyz`);

describe("outages and recovery without a restart", () => {
  it("reports redis on /readyz while redis is down and becomes ready again when it is back", async () => {
    const redis = f.stack.services.redis!;
    await redis.stop();
    try {
      await eventually("readyz names redis", async () => {
        const r = await readyz();
        return r.status === 503 && r.body.failing.includes("redis") && !r.body.failing.includes("postgres");
      });
      const probe = await get<{ error: { code: string } }>(`${f.probe.url}/probe?parts=redis`);
      expect(probe.status).toBe(503);
      expect(probe.body.error.code).toBe("redis_unavailable");
    } finally {
      await redis.start();
    }
    await eventually("readyz is ready again", async () => (await readyz()).status === 200);
    expect((await get(`${f.probe.url}/probe?parts=redis`)).status).toBe(200);
  });

  it("reports postgres on /readyz while pgbouncer is down and becomes ready again when it is back", async () => {
    // Fill the pool with idle clients first, so recovery also proves broken clients are not reused.
    await Promise.all(Array.from({ length: 10 }, () => get(`${f.probe.url}/probe?parts=pg`)));
    const pgbouncer = f.stack.services.pgbouncer!;
    await pgbouncer.stop();
    try {
      await eventually("readyz names postgres", async () => {
        const r = await readyz();
        return r.status === 503 && r.body.failing.includes("postgres");
      });
      const probe = await get<{ error: { code: string } }>(`${f.probe.url}/probe?parts=pg`);
      expect(probe.status).toBe(503);
      expect(probe.body.error.code).toBe("postgres_unavailable");
    } finally {
      await pgbouncer.start();
    }
    await eventually("readyz is ready again", async () => (await readyz()).status === 200);
    const after = await Promise.all(Array.from({ length: 20 }, () => get(`${f.probe.url}/probe?parts=pg`)));
    expect(after.map((r) => r.status)).toEqual(after.map(() => 200));
  });

  it("recovers when postgres itself restarts behind pgbouncer", async () => {
    await get(`${f.probe.url}/probe?parts=pg`);
    await f.stack.services.postgres!.restart();
    // PgBouncer notices the dead server connections on next use; the first attempts may fail.
    await eventually("a write succeeds after the restart", async () => (await get(`${f.probe.url}/probe?parts=pg`)).status === 200);
    await eventually("readyz is ready", async () => (await readyz()).status === 200);
  });

  it("recovers from a killed redis-server that the supervisor restarts", async () => {
    const pid = f.stack.redis.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    await eventually("redis has a new pid", async () => f.stack.redis.pid !== pid && f.stack.redis.pid > 0);
    await eventually("readyz is ready", async () => (await readyz()).status === 200);
    expect((await get(`${f.probe.url}/probe?parts=redis`)).status).toBe(200);
  });

  it("keeps every pool within its bound and nothing checked out after the outages", async () => {
    await eventually("the pool has nothing checked out", async () => {
      const s = await get<{ postgresPool: { total: number; idle: number; waiting: number; max: number }; redis: { connections: number; max: number } }>(
        `${f.probe.url}/stats`,
      );
      const p = s.body.postgresPool;
      return p.total <= p.max && p.idle === p.total && p.waiting === 0 && s.body.redis.connections <= s.body.redis.max;
    });
  });

  it("logged the outages without writing a password", () => {
    const all = f.logs.join("\n");
    expect(all).toContain("redis connection error");
    for (const secret of f.secrets) expect(all).not.toContain(secret);
  });
});
