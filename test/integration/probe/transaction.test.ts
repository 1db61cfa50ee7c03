import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withTransaction } from "../../../app-probe/src/postgres.ts";
import { startProbeFixture, type ProbeFixture } from "./fixture.ts";

let f: ProbeFixture;
let pool: pg.Pool;

beforeAll(async () => {
  f = await startProbeFixture();
  // Through PgBouncer in transaction mode, as the probe does.
  pool = new pg.Pool({ connectionString: f.stack.pgbouncer.url, max: 2 });
  pool.on("error", () => undefined);
  await pool.query("CREATE TABLE IF NOT EXISTS tx_test (id text PRIMARY KEY)");
});

afterAll(async () => {
  await pool?.end();
  await f?.stop();
});

const count = async (id: string) => Number((await f.query<{ n: string }>("SELECT count(*) AS n FROM tx_test WHERE id = $1", [id]))[0]?.n);

describe("withTransaction", () => {
  it("commits what the callback wrote and releases the client", async () => {
    await withTransaction(pool, (c) => c.query("INSERT INTO tx_test VALUES ('committed')"));
    expect(await count("committed")).toBe(1);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  it("rolls back and releases the client when the callback throws", async () => {
    await expect(
      withTransaction(pool, async (c) => {
        await c.query("INSERT INTO tx_test VALUES ('rolled-back')");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await count("rolled-back")).toBe(0);
    expect(pool.totalCount - pool.idleCount).toBe(0);
    expect(pool.waitingCount).toBe(0);
  });

  it("rolls back and releases the client when a query fails inside the transaction", async () => {
    await expect(
      withTransaction(pool, async (c) => {
        await c.query("INSERT INTO tx_test VALUES ('half')");
        await c.query("SELECT * FROM no_such_table");
      }),
    ).rejects.toThrow(/no_such_table/);
    expect(await count("half")).toBe(0);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  it("destroys a client whose connection broke instead of returning it to the pool", async () => {
    await expect(
      withTransaction(pool, async (c) => {
        // Ends this server connection from the server side; ROLLBACK then fails too.
        const pid = (await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
        await f.query("SELECT pg_terminate_backend($1)", [pid]);
        await c.query("SELECT 1");
      }),
    ).rejects.toThrow();
    expect(pool.totalCount - pool.idleCount).toBe(0);
    // The next transactions get healthy clients.
    for (let i = 0; i < 4; i++) await withTransaction(pool, (c) => c.query("SELECT 1"));
  });

  it("never holds more clients than the pool bound, however many transactions run at once", async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => withTransaction(pool, (c) => c.query("SELECT $1::int", [i]))));
    expect(pool.totalCount).toBeLessThanOrEqual(2);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });
});
