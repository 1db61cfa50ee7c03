import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, get, startProbeFixture, type ProbeFixture, type Reply } from "./fixture.ts";

let f: ProbeFixture;
let client: Agent;

/**
 * These tests count outcomes; how fast the requests are served is the benchmark's to measure. So the
 * deadlines that guard against a stuck dependency are raised out of the way: on a machine whose cores
 * are busy elsewhere, a thousand requests in one event loop can hold a pooled-connection wait or an
 * upstream answer past its 5 s even though nothing is stuck.
 */
const NO_DEADLINE_MS = 600_000;
/** The probe's pool and socket bounds, small enough that every burst below fills them. */
const POOL_MAX = 4;
const MAX_SOCKETS = 4;

beforeAll(async () => {
  f = await startProbeFixture({
    env: { PG_CONNECTION_TIMEOUT_MS: String(NO_DEADLINE_MS), PG_POOL_MAX: String(POOL_MAX), HTTP_MAX_SOCKETS: String(MAX_SOCKETS) },
    probe: { upstreamTimeoutMs: NO_DEADLINE_MS },
  });
  // The test's own client: enough sockets that all requests are really in flight at once.
  client = new Agent({ connections: 1000, keepAliveTimeout: 1000 });
});

afterAll(async () => {
  await client?.close();
  await f?.stop();
});

type Stats = { postgresPool: { total: number; idle: number; waiting: number; max: number }; redis: { connections: number; max: number }; http: { socketsOpen: number; maxSockets: number } };

/** PostgreSQL client backends of the app user, sampled straight from pg_stat_activity. */
async function appBackends(): Promise<number> {
  const rows = await f.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1 AND backend_type = 'client backend'", [
    f.stack.config.postgres.user,
  ]);
  return Number(rows[0]?.n);
}

/** PgBouncer's server-side budget for the app pool: pool_size + reserve_pool from SHOW DATABASES. */
async function pgbouncerBudget(): Promise<number> {
  const pg = await import("pg");
  const admin = new pg.default.Client({ connectionString: f.stack.pgbouncer.adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ name: string; pool_size: number; reserve_pool: number }>("SHOW DATABASES");
    const db = rows.find((r) => r.name === f.stack.config.postgres.database);
    if (db === undefined) throw new Error("app database missing from SHOW DATABASES");
    return Number(db.pool_size) + Number(db.reserve_pool);
  } finally {
    await admin.end();
  }
}

describe("load", () => {
  it("completes a thousand concurrent /probe requests with zero errors and PostgreSQL backends within budget", async () => {
    const budget = await pgbouncerBudget();
    let peakBackends = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakBackends = Math.max(peakBackends, await appBackends());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let replies: Reply<{ pg: { writeId: string } }>[];
    try {
      replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => get<{ pg: { writeId: string } }>(`${f.probe.url}/probe?key=load-${i % 10}`, client)));
    } finally {
      // Stopped also when a request throws, so it does not query a fixture that afterAll has closed.
      sampling = false;
      await sampler;
    }
    const failures = replies.filter((r) => r.status !== 200);
    expect(failures.map((r) => r.text).slice(0, 3)).toEqual([]);
    expect(peakBackends).toBeGreaterThan(0);
    expect(peakBackends).toBeLessThanOrEqual(budget);
    // Every acknowledged write is in the database, one row per write id.
    const ids = replies.map((r) => r.body.pg.writeId);
    const found = await f.query<{ n: string }>("SELECT count(*) AS n FROM probe_writes WHERE id = ANY($1::uuid[])", [ids]);
    expect(Number(found[0]?.n)).toBe(1000);
    const counters = await f.query<{ total: string }>("SELECT sum(n) AS total FROM probe_counters WHERE id LIKE 'load-%'");
    expect(Number(counters[0]?.total)).toBe(1000);
  });

  // pg-pool and undici enforce their own limits; what the probe owns is passing them the configured
  // values and queueing, not failing, past them. A burst larger than both bounds must fill each to
  // exactly its configured size (a probe that ignored PG_POOL_MAX would run pg-pool's default of 10)
  // and leave requests waiting for a client, every one of them served in the end.
  it("fills its pools to exactly PG_POOL_MAX and HTTP_MAX_SOCKETS under a larger burst, queues the rest and serves every request", async () => {
    let peakPool = 0;
    let peakWaiting = 0;
    let peakSockets = 0;
    const replies = Promise.all(Array.from({ length: 200 }, () => get(`${f.probe.url}/probe`, client)));
    let done = false;
    void replies.finally(() => (done = true));
    while (!done) {
      const s = (await get<Stats>(`${f.probe.url}/stats`, client)).body;
      peakPool = Math.max(peakPool, s.postgresPool.total);
      peakWaiting = Math.max(peakWaiting, s.postgresPool.waiting);
      peakSockets = Math.max(peakSockets, s.http.socketsOpen);
    }
    expect((await replies).filter((r) => r.status !== 200).map((r) => r.text)).toEqual([]);
    expect({ peakPool, peakSockets }).toEqual({ peakPool: POOL_MAX, peakSockets: MAX_SOCKETS });
    expect(peakWaiting).toBeGreaterThan(0);
  });

  it("returns every pool to idle within its bound after a burst of aborted requests", async () => {
    const aborted = Array.from({ length: 300 }, async (_, i) => {
      const controller = new AbortController();
      const pending = request(`${f.probe.url}/probe?key=abort-${i % 5}`, { dispatcher: client, signal: controller.signal }).then((r) => r.body.dump());
      // Give up at different points: before the request is sent, while it is served, or never.
      setTimeout(() => controller.abort(), i % 3 === 0 ? 0 : i % 7);
      await pending.catch(() => undefined);
    });
    await Promise.all(aborted);
    await eventually("every pool is back to idle within its bound", async () => {
      const s = (await get<Stats>(`${f.probe.url}/stats`)).body;
      const p = s.postgresPool;
      return p.total <= p.max && p.idle === p.total && p.waiting === 0 && s.redis.connections <= s.redis.max && s.http.socketsOpen <= s.http.maxSockets;
    });
    // And the probe still serves.
    expect((await get(`${f.probe.url}/probe`)).status).toBe(200);
  });
});
