import type { Pool, PoolClient } from "pg";
import { describe, expect, it } from "vitest";
import { withTransaction } from "./postgres.ts";

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

function fakePool(clients: Fake[]) {
  const handedOut: Fake[] = [];
  const pool = {
    options: { max: 4 },
    connect: () => {
      const c = clients.shift();
      if (!c) return Promise.reject(new Error("no client left"));
      handedOut.push(c);
      return Promise.resolve(c as unknown as PoolClient);
    },
  };
  return { pool: pool as unknown as Pool, handedOut };
}

const dropped = () => new Error("Connection terminated unexpectedly");
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
});
