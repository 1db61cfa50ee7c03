import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get, startProbeFixture, type ProbeFixture } from "./fixture.ts";

let f: ProbeFixture;

beforeAll(async () => {
  f = await startProbeFixture();
});

afterAll(async () => {
  await f?.stop();
});

/** Sends raw bytes and returns whatever the server answers before closing. */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes));
    let answer = "";
    socket.on("data", (d) => (answer += d.toString("latin1")));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.setTimeout(5000, () => socket.destroy(new Error("no answer")));
  });
}

describe("probe endpoints against the real stack", () => {
  it("prints one listening log line with the real url", () => {
    const lines = f.logs.map((l) => JSON.parse(l) as { msg: string; url?: string });
    const listening = lines.filter((l) => l.msg === "listening");
    expect(listening).toHaveLength(1);
    expect(listening[0]?.url).toBe(f.probe.url);
    expect(f.probe.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(f.probe.port).toBeGreaterThan(0);
  });

  it("answers /healthz with the event-loop delay", async () => {
    const r = await get<{ status: string; eventLoopDelayMs: { p99: number } }>(`${f.probe.url}/healthz`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("ok");
    expect(typeof r.body.eventLoopDelayMs.p99).toBe("number");
  });

  it("answers /readyz with every check passing and the pool judged against PG_POOL_MAX", async () => {
    const r = await get<{ ready: boolean; failing: string[]; checks: { postgres: { pool: { max: number } } } }>(`${f.probe.url}/readyz`);
    expect(r.status).toBe(200);
    expect(r.body.ready).toBe(true);
    expect(r.body.failing).toEqual([]);
    expect(r.body.checks.postgres.pool.max).toBe(f.env.pgPoolMax);
  });

  it("writes a counter row, a write row and a redis counter on /probe and says what it wrote", async () => {
    const r = await get<{ ok: boolean; pg: { writeId: string; counter: number }; redis: { key: string; value: number }; http: { status: number } }>(
      `${f.probe.url}/probe?key=endpoints-1`,
    );
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(true);
    expect(r.body.pg.counter).toBe(1);
    expect(r.body.redis).toEqual({ key: "probe:counter:endpoints-1", value: 1 });
    expect(r.body.http.status).toBe(200);
    const rows = await f.query<{ counter_id: string; n: string }>("SELECT counter_id, n FROM probe_writes WHERE id = $1", [r.body.pg.writeId]);
    expect(rows).toEqual([{ counter_id: "endpoints-1", n: "1" }]);
  });

  it("runs only the parts asked for", async () => {
    const r = await get<Record<string, unknown>>(`${f.probe.url}/probe?parts=redis&key=endpoints-2`);
    expect(r.status).toBe(200);
    expect(r.body.parts).toEqual(["redis"]);
    expect(r.body.pg).toBeUndefined();
    expect(r.body.http).toBeUndefined();
  });

  it("answers 400 with a stable code for an unknown part or a bad key", async () => {
    for (const query of ["parts=pg,nope", "key=%20bad", "key=" + "k".repeat(65), "parts=", "key=a&key=b"]) {
      const r = await get<{ error: { code: string } }>(`${f.probe.url}/probe?${query}`);
      expect(r.status, query).toBe(400);
      expect(r.body.error.code, query).toBe("bad_request");
    }
  });

  it("answers /upstream with a tiny JSON body", async () => {
    const r = await get(`${f.probe.url}/upstream`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ok: true });
  });

  it("serves /stats with pool, PgBouncer and pg_stat_activity figures read from the servers", async () => {
    await get(`${f.probe.url}/probe?key=endpoints-3`);
    const r = await get<{
      postgresPool: { max: number; total: number };
      redis: { connections: number; max: number };
      http: { requests: number; socketsOpened: number };
      pgbouncer: { ok: boolean; data: { pools: { database: string; user: string }[] } };
      postgres: { ok: boolean; data: { maxConnections: number; backends: { user: string; count: number }[] } };
    }>(`${f.probe.url}/stats`);
    expect(r.status).toBe(200);
    expect(r.body.postgresPool.max).toBe(f.env.pgPoolMax);
    expect(r.body.postgresPool.total).toBeLessThanOrEqual(f.env.pgPoolMax);
    expect(r.body.redis.connections).toBeLessThanOrEqual(r.body.redis.max);
    expect(r.body.http.requests).toBeGreaterThan(0);
    expect(r.body.pgbouncer.ok).toBe(true);
    expect(r.body.pgbouncer.data.pools.some((p) => p.database === f.stack.config.postgres.database)).toBe(true);
    expect(r.body.postgres.ok).toBe(true);
    expect(r.body.postgres.data.maxConnections).toBe(f.stack.config.postgres.maxConnections);
    expect(r.body.postgres.data.backends.some((b) => b.user === f.stack.config.postgres.user && b.count > 0)).toBe(true);
  });

  it("exposes pool, PgBouncer and pg_stat_activity series on /metrics", async () => {
    await get(`${f.probe.url}/probe?key=endpoints-4`);
    const r = await get(`${f.probe.url}/metrics`);
    expect(r.status).toBe(200);
    for (const series of [
      `probe_pg_pool_max ${f.env.pgPoolMax}`,
      "probe_pg_pool_total ",
      "probe_pg_acquire_seconds_count ",
      'probe_pg_query_seconds_count{query="counter_upsert"}',
      "probe_redis_connected 1",
      // The readiness check answers within READY_GAUGE_WAIT_MS while everything is up.
      "probe_ready 1",
      "probe_http_client_sockets_opened_total ",
      "probe_http_client_socket_reuse_ratio ",
      'probe_scrape_success{target="pgbouncer"} 1',
      'probe_scrape_success{target="postgres"} 1',
      "probe_pgbouncer_servers_active{",
      "probe_postgres_backends{",
    ]) {
      expect(r.text, series).toContain(series);
    }
  });

  it("reuses upstream sockets for most requests", async () => {
    for (let i = 0; i < 50; i++) await get(`${f.probe.url}/probe?parts=http`);
    const r = await get<{ http: { reuseRatio: number; socketsOpened: number; requests: number } }>(`${f.probe.url}/stats`);
    expect(r.body.http.reuseRatio).toBeGreaterThan(0.9);
    expect(r.body.http.socketsOpened).toBeLessThan(r.body.http.requests);
  });

  it("answers 404, 405 and 413 with stable codes and keeps serving", async () => {
    const missing = await get<{ error: { code: string } }>(`${f.probe.url}/nope`);
    expect([missing.status, missing.body.error.code]).toEqual([404, "not_found"]);
    const post = await rawRequest(f.probe.port, "POST /probe HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    expect(post).toMatch(/^HTTP\/1\.1 405/);
    const big = await rawRequest(
      f.probe.port,
      `GET /probe HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n${"x".repeat(2000)}`,
    );
    expect(big).toMatch(/^HTTP\/1\.1 413/);
    expect((await get(`${f.probe.url}/healthz`)).status).toBe(200);
  });

  it("answers a malformed request with 400 and keeps serving", async () => {
    const garbage = await rawRequest(f.probe.port, "THIS IS NOT HTTP\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400/);
    const hugeHeader = await rawRequest(f.probe.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(hugeHeader).toMatch(/^HTTP\/1\.1 431/);
    expect((await get(`${f.probe.url}/healthz`)).status).toBe(200);
  });

  it("serves /probe with named prepared statements when PG_PREPARED_STATEMENTS is true and the connection is direct", async () => {
    // Named statements need a session that lasts (direct, or session pooling); PgBouncer 1.18 in
    // transaction mode would break them, which is why the default is false.
    const probe = await f.startProbe({ DATABASE_URL: f.stack.postgres.appUrl, PG_PREPARED_STATEMENTS: "true" });
    try {
      for (let i = 0; i < 3; i++) expect((await get(`${probe.url}/probe?parts=pg&key=prepared`)).status).toBe(200);
    } finally {
      await probe.close();
    }
  });

  it("never writes a password into its logs", () => {
    const all = f.logs.join("\n");
    expect(f.secrets.length).toBeGreaterThan(0);
    for (const secret of f.secrets) expect(all).not.toContain(secret);
  });
});
