/**
 * examples/prisma against the local stack: Prisma 7 through @prisma/adapter-pg and PgBouncer in
 * transaction mode, its schema applied over the direct URL, and a few hundred simulated users at once.
 * The adapter's pool gets prismaAdapterOptions(cfg), the function the stack outputs use.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { connectionBudget } from "../../infra/config/index.ts";
import { prismaAdapterOptions } from "../../infra/k8s/manifests/urls.ts";
import { openDatabase, type Database } from "../../examples/prisma/src/db.ts";
import { applySchema } from "../../examples/prisma/src/schema.ts";
import { profile, publish, publishChecked, signUp } from "../../examples/prisma/src/users.ts";
import { query, useStack, waitFor } from "./fixture.ts";

const USERS = 300;
const ROUNDS = 3;
// Two app instances whose pools (2 × 15) could open more connections than PgBouncer may open to
// PostgreSQL (10 + 2): the backend count staying within the latter is PgBouncer's doing.
const OVERRIDES = {
  pgbouncer: { replicas: 1, poolMode: "transaction", defaultPoolSize: 10, minPoolSize: 0, reservePoolSize: 2, maxClientConn: 200 },
  probe: { replicas: 2, postgresPoolMax: 15, postgresConnectionTimeout: "10s" },
};

const GENERATED = fileURLToPath(new URL("../../examples/prisma/src/generated/prisma/client.ts", import.meta.url));

interface Peak {
  backends: number;
  /** Clients PgBouncer held for the app's database, served or waiting. */
  pgbouncerClients: number;
  poolTotal: number;
  poolWaiting: number;
  samples: number;
}

/** Samples PostgreSQL's client backends of the app user and the adapters' pools until `stop` is called. */
function sampler(superuserUrl: string, statsUrl: string, user: string, database: string, pools: pg.Pool[]) {
  const peak: Peak = { backends: 0, pgbouncerClients: 0, poolTotal: 0, poolWaiting: 0, samples: 0 };
  let running = true;
  const done = (async () => {
    const c = new pg.Client({ connectionString: superuserUrl });
    const stats = new pg.Client({ connectionString: statsUrl });
    await c.connect();
    try {
      await stats.connect();
      while (running) {
        const { rows } = await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1 AND backend_type = 'client backend'", [user]);
        peak.backends = Math.max(peak.backends, Number(rows[0]!.n));
        const shown = await stats.query<{ database: string; cl_active: string; cl_waiting: string }>("SHOW POOLS");
        const clients = shown.rows.filter((r) => r.database === database).reduce((n, r) => n + Number(r.cl_active) + Number(r.cl_waiting), 0);
        peak.pgbouncerClients = Math.max(peak.pgbouncerClients, clients);
        for (const p of pools) {
          peak.poolTotal = Math.max(peak.poolTotal, p.totalCount);
          peak.poolWaiting = Math.max(peak.poolWaiting, p.waitingCount);
        }
        peak.samples++;
        // Yield to the event loop between samples: the query round trip paces the loop.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      await Promise.all([c.end(), stats.end()]);
    }
  })();
  // A failed sample surfaces from stop(), not as an unhandled rejection while the users still run.
  done.catch(() => {});
  return {
    peak,
    async stop(): Promise<Peak> {
      running = false;
      await done;
      return peak;
    },
  };
}

/** One simulated user: sign up, then rounds of a batch transaction, an interactive one and reads. */
async function user(db: Database, n: number, errors: unknown[], ops: { n: number }): Promise<void> {
  const op = async <T>(f: () => Promise<T>): Promise<T | undefined> => {
    try {
      const v = await f();
      ops.n++;
      return v;
    } catch (err) {
      errors.push(err);
      return undefined;
    }
  };
  const u = await op(() => signUp(db.prisma, `user${n}@example.test`, `User ${n}`));
  if (!u) return;
  for (let r = 0; r < ROUNDS; r++) {
    await op(() => publish(db.prisma, u.id, `batch ${n}.${r}`));
    await op(() => publishChecked(db.prisma, u.id, `interactive ${n}.${r}`));
    await op(() => profile(db.prisma, u.id));
  }
}

describe("the Prisma 7 example through PgBouncer", () => {
  const stack = useStack({ overrides: OVERRIDES });

  it(`serves ${USERS} concurrent users' creates, reads, batch and interactive transactions with zero errors and PostgreSQL's backends within the budget`, async () => {
    if (!existsSync(GENERATED)) throw new Error("examples/prisma has no generated client: `npm ci` at the root installs the example and runs its `npm run generate`");
    const s = stack();
    const cfg = s.config;
    const options = prismaAdapterOptions(cfg);
    const budget = connectionBudget(cfg).perReplica;

    await applySchema(s.postgres.appUrl);
    const tables = await query<{ t: string }>(s.postgres.appUrl, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    expect(tables.map((t) => t.t)).toEqual(expect.arrayContaining(["posts", "users"]));

    const dbs = Array.from({ length: cfg.probe.replicas }, () => openDatabase(s.pgbouncer.url, options));
    const errors: unknown[] = [];
    const ops = { n: 0 };
    const watch = sampler(s.postgres.url, s.pgbouncer.statsUrl, cfg.postgres.user, cfg.postgres.database, dbs.map((d) => d.pool));
    let peak: Peak;
    const started = Date.now();
    try {
      await Promise.all(Array.from({ length: USERS }, (_, i) => user(dbs[i % dbs.length]!, i, errors, ops)));
    } finally {
      peak = await watch.stop();
      await Promise.all(dbs.map((d) => d.close()));
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `prisma example: ${USERS} users, ${ops.n} operations in ${seconds.toFixed(1)} s, ${errors.length} errors; ` +
        `peak PostgreSQL client backends ${peak.backends} (budget ${budget}) for ${peak.pgbouncerClients} PgBouncer clients, peak adapter pool ${peak.poolTotal} of ${options.max}, ` +
        `peak waiting ${peak.poolWaiting}, ${peak.samples} samples`,
    );

    expect(errors.map((e) => (e as Error).message).slice(0, 5)).toEqual([]);
    expect(ops.n).toBe(USERS * (1 + 3 * ROUNDS));
    expect(peak.samples).toBeGreaterThan(0);
    expect(peak.backends).toBeGreaterThan(0);
    expect(peak.backends).toBeLessThanOrEqual(budget);
    // The pools' connections went through PgBouncer: it held more clients than PostgreSQL had backends.
    expect(peak.pgbouncerClients).toBeGreaterThan(budget);
    // The adapter's pool reached its bound (users waited for it) and never passed it.
    expect(peak.poolTotal).toBe(options.max);
    expect(peak.poolWaiting).toBeGreaterThan(0);

    // Every transaction applied whole: two posts and two balance increments per round, per user.
    const rows = await query<{ balance: number; posts: string }>(
      s.postgres.appUrl,
      "SELECT u.balance, (SELECT count(*) FROM posts p WHERE p.author_id = u.id) AS posts FROM users u",
    );
    expect(rows).toHaveLength(USERS);
    for (const r of rows) expect({ balance: r.balance, posts: Number(r.posts) }).toEqual({ balance: 2 * ROUNDS, posts: 2 * ROUNDS });
  });

  it("bounds the adapter's pool by the stack's probe.postgresPoolMax and timeouts", async () => {
    const s = stack();
    const options = prismaAdapterOptions(s.config);
    const db = openDatabase(s.pgbouncer.url, options);
    try {
      expect(db.pool.options).toMatchObject({ max: 15, connectionTimeoutMillis: 10_000, idleTimeoutMillis: options.idleTimeoutMillis });
      await expect(db.prisma.$queryRaw<Array<{ one: number }>>`SELECT 1 AS one`).resolves.toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });

  it("lets a transaction wait for a pooled connection up to the pool's acquire timeout, past Prisma's 2 s default", async () => {
    const s = stack();
    const options = prismaAdapterOptions(s.config);
    const db = openDatabase(s.pgbouncer.url, options);
    const held = await Promise.all(Array.from({ length: options.max }, () => db.pool.connect()));
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const c of held) c.release();
    };
    // Every connection is taken for 2.5 s: longer than Prisma's default maxWait, shorter than the pool's timeout.
    const holdMs = 2_500;
    const started = Date.now();
    const timer = setTimeout(release, holdMs);
    try {
      // Two statements: Prisma runs a batch of one without a transaction.
      const one = () => db.prisma.$queryRaw<Array<{ one: number }>>`SELECT 1 AS one`;
      const tx = db.prisma.$transaction([one(), one()]);
      await waitFor("the transaction to queue for a connection", async () => (db.pool.waitingCount > 0 ? true : undefined));
      await expect(tx).resolves.toEqual([[{ one: 1 }], [{ one: 1 }]]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(holdMs);
    } finally {
      clearTimeout(timer);
      release();
      await db.close();
    }
  });
});
