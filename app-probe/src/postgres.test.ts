import type { Pool, PoolClient } from "pg";
import { describe, expect, it } from "vitest";
import { RECONNECT_BACKOFF_MS, withTransaction, type Clock } from "./postgres.ts";

/** Virtual time: sleep moves it forward at once and records the wait, so no test waits or reads a wall clock. */
function virtualClock() {
  let now = 0;
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: (ms) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
  return { clock, sleeps, now: () => now };
}

/** A pooled client that fails the statements it is told to, and records what it was sent. */
function fakeClient(failOn: Record<string, Error> = {}) {
  const sent: string[] = [];
  const released: (Error | boolean | undefined)[] = [];
  const client = {
    sent,
    released,
    query: (text: string) => {
      sent.push(text);
      return failOn[text] ? Promise.reject(failOn[text]) : Promise.resolve({ rows: [] });
    },
    on: () => client,
    off: () => client,
    release: (err?: Error | boolean) => released.push(err),
  };
  return client;
}

type Fake = ReturnType<typeof fakeClient>;

/** A pool that hands out `clients` in order; an Error in the list is a connection attempt failing with it. */
function fakePool(clients: (Fake | Error)[], options: { connectionTimeoutMillis?: number } = {}, now: () => number = () => 0) {
  const handedOut: Fake[] = [];
  /** The (virtual) time of every connect() call. */
  const connects: number[] = [];
  const pool = {
    options: { max: 4, ...options },
    connect: () => {
      connects.push(now());
      const c = clients.shift();
      if (!c) return Promise.reject(new Error("no client left"));
      if (c instanceof Error) return Promise.reject(c);
      handedOut.push(c);
      return Promise.resolve(c as unknown as PoolClient);
    },
  };
  return { pool: pool as unknown as Pool, handedOut, connects };
}

const dropped = () => new Error("Connection terminated unexpectedly");
/** What connecting to a PgBouncer that is restarting gives. */
const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6432"), { code: "ECONNREFUSED" });
const refusals = (n: number) => Array.from({ length: n }, refused);
const insert = async (client: PoolClient) => {
  await client.query("INSERT");
  return "done";
};

describe("withTransaction", () => {
  it("runs a transaction that broke on BEGIN once more on a fresh connection, destroying the broken one", async () => {
    const stale = fakeClient({ BEGIN: dropped() });
    const fresh = fakeClient();
    const { pool } = fakePool([stale, fresh]);
    const retried: string[] = [];
    await expect(withTransaction(pool, insert, { onRetry: (o) => retried.push(o) })).resolves.toBe("done");
    expect(retried).toEqual(["recovered"]);
    expect(stale.sent).toEqual(["BEGIN"]);
    expect(stale.released[0]).toBeInstanceOf(Error);
    expect(fresh.sent).toEqual(["BEGIN", "INSERT", "COMMIT"]);
  });

  it("tries again only once, and fails with the driver's own error", async () => {
    const { pool } = fakePool([fakeClient({ BEGIN: dropped() }), fakeClient({ BEGIN: dropped() }), fakeClient()]);
    const retried: string[] = [];
    await expect(withTransaction(pool, insert, { onRetry: (o) => retried.push(o) })).rejects.toThrow("Connection terminated unexpectedly");
    expect(retried).toEqual(["failed"]);
  });

  it("does not retry once a statement of the transaction was sent", async () => {
    const client = fakeClient({ INSERT: dropped() });
    const spare = fakeClient();
    const { pool } = fakePool([client, spare]);
    await expect(withTransaction(pool, insert)).rejects.toThrow("Connection terminated unexpectedly");
    expect(spare.sent).toEqual([]);
  });

  it("does not retry a failed COMMIT, which the server may have applied", async () => {
    const spare = fakeClient();
    const { pool } = fakePool([fakeClient({ COMMIT: dropped() }), spare]);
    await expect(withTransaction(pool, insert)).rejects.toThrow("Connection terminated unexpectedly");
    expect(spare.sent).toEqual([]);
  });

  it("does not retry a query error on BEGIN, only a broken connection", async () => {
    const spare = fakeClient();
    const { pool } = fakePool([fakeClient({ BEGIN: Object.assign(new Error("syntax error"), { code: "42601" }) }), spare]);
    await expect(withTransaction(pool, insert)).rejects.toThrow("syntax error");
    expect(spare.sent).toEqual([]);
  });

  it("skips clients handed out before when retrying, so the retry is on a connection opened now", async () => {
    const reused = fakeClient();
    const { pool: first } = fakePool([reused]);
    await withTransaction(first, insert);
    const stale = fakeClient({ BEGIN: dropped() });
    const fresh = fakeClient();
    const { pool, handedOut } = fakePool([stale, reused, fresh]);
    await expect(withTransaction(pool, insert)).resolves.toBe("done");
    expect(handedOut).toEqual([stale, reused, fresh]);
    expect(reused.released.at(-1)).toBe(true);
    expect(fresh.sent).toEqual(["BEGIN", "INSERT", "COMMIT"]);
  });

  it("waits for the fresh connection while PgBouncer refuses it, then runs the transaction once more when it is back within the bound", async () => {
    const t = virtualClock();
    const stale = fakeClient({ BEGIN: dropped() });
    const fresh = fakeClient();
    const { pool, connects } = fakePool([stale, ...refusals(3), fresh], {}, t.now);
    const retried: string[] = [];
    await expect(withTransaction(pool, insert, { onRetry: (o) => retried.push(o), reconnectWithinMs: 5000, clock: t.clock })).resolves.toBe("done");
    expect(retried).toEqual(["recovered"]);
    expect(stale.sent).toEqual(["BEGIN"]);
    expect(fresh.sent).toEqual(["BEGIN", "INSERT", "COMMIT"]);
    // One connect for the first try, then the retry's: refused three times with a doubling backoff.
    expect(connects).toHaveLength(5);
    expect(t.sleeps).toEqual([RECONNECT_BACKOFF_MS.first, 2 * RECONNECT_BACKOFF_MS.first, 4 * RECONNECT_BACKOFF_MS.first]);
  });

  it("doubles the backoff up to its maximum, never past it", async () => {
    const t = virtualClock();
    const { pool } = fakePool([fakeClient({ BEGIN: dropped() }), ...refusals(8), fakeClient()], {}, t.now);
    await expect(withTransaction(pool, insert, { reconnectWithinMs: 60_000, clock: t.clock })).resolves.toBe("done");
    expect(t.sleeps).toEqual([25, 50, 100, 200, 250, 250, 250, 250]);
    expect(Math.max(...t.sleeps)).toBe(RECONNECT_BACKOFF_MS.max);
  });

  it("gives up at the bound: the last attempt starts exactly at reconnectWithinMs after the first failure, and fails with the driver's error", async () => {
    const t = virtualClock();
    const { pool, connects } = fakePool([fakeClient({ BEGIN: dropped() }), ...refusals(100)], {}, t.now);
    const retried: string[] = [];
    await expect(withTransaction(pool, insert, { onRetry: (o) => retried.push(o), reconnectWithinMs: 200, clock: t.clock })).rejects.toThrow("ECONNREFUSED");
    expect(retried).toEqual(["failed"]);
    // 25 + 50 + 100 ms of backoff, then what is left (25 ms) and one last attempt at 200 ms: no run of tiny waits at the end.
    expect(t.sleeps).toEqual([25, 50, 100, 25]);
    expect(connects.slice(1)).toEqual([0, 25, 75, 175, 200]);
  });

  it("takes the bound from the pool's own acquire timeout when none is given", async () => {
    const t = virtualClock();
    const { pool, connects } = fakePool([fakeClient({ BEGIN: dropped() }), ...refusals(100)], { connectionTimeoutMillis: 100 }, t.now);
    await expect(withTransaction(pool, insert, { clock: t.clock })).rejects.toThrow("ECONNREFUSED");
    expect(connects.at(-1)).toBe(100);
    expect(t.now()).toBe(100);
  });

  it("does not wait for a reconnect when the pool's acquire times out: that already took the pool's whole timeout", async () => {
    const t = virtualClock();
    const timedOut = new Error("timeout exceeded when trying to connect");
    const { pool, connects } = fakePool([fakeClient({ BEGIN: dropped() }), timedOut, fakeClient()]);
    await expect(withTransaction(pool, insert, { reconnectWithinMs: 5000, clock: t.clock })).rejects.toThrow("timeout exceeded");
    expect(connects).toHaveLength(2);
    expect(t.sleeps).toEqual([]);
  });

  it.each(["INSERT", "COMMIT"])("never retries, nor waits, once a statement reached the server (%s failed), even with time left to reconnect", async (statement) => {
    const t = virtualClock();
    const client = fakeClient({ [statement]: dropped() });
    const spare = fakeClient();
    const { pool, connects } = fakePool([client, spare]);
    const retried: string[] = [];
    await expect(withTransaction(pool, insert, { onRetry: (o) => retried.push(o), reconnectWithinMs: 5000, clock: t.clock })).rejects.toThrow("Connection terminated unexpectedly");
    expect(connects).toHaveLength(1);
    expect(t.sleeps).toEqual([]);
    expect(retried).toEqual([]);
    expect(spare.sent).toEqual([]);
    expect(client.sent.filter((q) => q === "INSERT")).toHaveLength(1);
  });

  it("runs the transaction at most twice however often the fresh connection is refused", async () => {
    const stale = fakeClient({ BEGIN: dropped() });
    const alsoBroken = fakeClient({ BEGIN: dropped() });
    const { pool, handedOut } = fakePool([stale, refused(), alsoBroken, ...refusals(5), fakeClient()]);
    const retried: string[] = [];
    await expect(withTransaction(pool, insert, { onRetry: (o) => retried.push(o), reconnectWithinMs: 5000 })).rejects.toThrow("Connection terminated unexpectedly");
    expect(retried).toEqual(["failed"]);
    expect(handedOut).toEqual([stale, alsoBroken]);
  });
});
