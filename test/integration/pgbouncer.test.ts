import { spawn } from "node:child_process";
import { Socket } from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { isAlive, pgbouncerConfig, query, useStack, waitFor } from "./fixture.ts";

// Small server budget so "10 × maxConnections" clients stay quick on two cores.
const MAX_CONNECTIONS = 40;

/** A query over a connection whose source address is `localAddress` (any 127.x.y.z is loopback on Linux). */
async function queryFrom(localAddress: string, url: string, sql: string): Promise<unknown[]> {
  class BoundSocket extends Socket {
    override connect(...args: unknown[]): this {
      const [port, host] = args as [number, string];
      return super.connect({ port, host, localAddress });
    }
  }
  const client = new pg.Client({ connectionString: url, stream: () => new BoundSocket() });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

function pgbench(url: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const child = spawn("pgbench", ["-h", u.hostname, "-p", u.port, "-U", decodeURIComponent(u.username), ...args, u.pathname.slice(1)], {
      env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, out }));
  });
}

describe("PgBouncer with the rendered pgbouncer.ini and userlist.txt", () => {
  // The budget counts a draining PgBouncer pod during a rollout: (1 + 1) × (11 + 5) = 32 = 40 − 3 − 5.
  const stack = useStack({
    overrides: {
      postgres: { maxConnections: MAX_CONNECTIONS, superuserReservedConnections: 3, headroomConnections: 5 },
      pgbouncer: { replicas: 1, defaultPoolSize: 10, minPoolSize: 2, reservePoolSize: 5, maxClientConn: 1000 },
    },
  });

  it("authenticates the app user with SCRAM through PgBouncer and reaches PostgreSQL", async () => {
    const s = stack();
    const [row] = await query<{ user: string; db: string }>(s.pgbouncer.url, "SELECT current_user AS user, current_database() AS db");
    expect(row).toEqual({ user: s.config.postgres.user, db: s.config.postgres.database });
    const cfg = await pgbouncerConfig(s.pgbouncer.adminUrl);
    expect(cfg.auth_type).toBe("hba");
  });

  it("refuses a client with a wrong password", async () => {
    const s = stack();
    const wrong = s.pgbouncer.url.replace(/:[^:@/]+@/, ":wrong-password@");
    await expect(query(wrong, "SELECT 1")).rejects.toThrow(/password authentication failed|SASL authentication failed/);
  });

  it("lets the stats user read SHOW POOLS but not run RELOAD", async () => {
    const s = stack();
    const pools = await query<{ database: string }>(s.pgbouncer.statsUrl, "SHOW POOLS");
    expect(pools.map((p) => p.database)).toContain(s.config.postgres.database);
    await expect(query(s.pgbouncer.statsUrl, "RELOAD")).rejects.toThrow(/admin access needed|not allowed/);
  });

  it("refuses the admin user from any address but loopback's own, and still admits the stats and app users there", async () => {
    const s = stack();
    const from = (url: string) => queryFrom("127.0.0.2", url, "SHOW VERSION");
    await expect(from(s.pgbouncer.adminUrl)).rejects.toThrow(/login rejected/);
    await expect(from(s.pgbouncer.statsUrl)).resolves.toHaveLength(1);
    await expect(queryFrom("127.0.0.2", s.pgbouncer.url, "SELECT 1 AS one")).resolves.toEqual([{ one: 1 }]);
  });

  it(`serves pgbench -S with 10 × maxConnections clients with zero errors`, async () => {
    const s = stack();
    const init = await pgbench(s.postgres.appUrl, ["-i", "-q", "-s", "1"]);
    expect(init.code, init.out).toBe(0);
    const clients = 10 * MAX_CONNECTIONS;
    const run = await pgbench(s.pgbouncer.url, ["-S", "-n", "-c", String(clients), "-j", "2", "-t", "20"]);
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(new RegExp(`number of clients: ${clients}`));
    expect(run.out).toMatch(new RegExp(`number of transactions actually processed: ${clients * 20}/${clients * 20}`));
    expect(run.out).toMatch(/number of failed transactions: 0 \(0\.000%\)/);
    const [backends] = await query<{ n: string }>(s.postgres.url, "SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1", [s.config.postgres.user]);
    expect(Number(backends!.n)).toBeLessThanOrEqual(s.config.pgbouncer.defaultPoolSize + s.config.pgbouncer.reservePoolSize);
  });

  it("comes back after PgBouncer is killed", async () => {
    const s = stack();
    const before = s.pgbouncer.pid;
    process.kill(before, "SIGKILL");
    await waitFor("a new pgbouncer", async () => (s.pgbouncer.pid !== before && s.pgbouncer.pid > 0 ? true : undefined));
    expect(isAlive(before)).toBe(false);
    const rows = await waitFor("a query through the restarted pgbouncer", () => query<{ one: number }>(s.pgbouncer.url, "SELECT 1 AS one"));
    expect(rows).toEqual([{ one: 1 }]);
    expect(s.services.pgbouncer?.restarts).toBeGreaterThanOrEqual(1);
  });
});
