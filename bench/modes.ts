/**
 * One request of each kind, as the probe makes it (pooled) and as the seed's "before" makes it (a new
 * connection each time). Each instance holds its own pool, agent or client, like one app replica.
 */
import pg from "pg";
import { Agent, Client, request } from "undici";
import { Redis, type RedisOptions } from "ioredis";
import { redisTlsOptions } from "../local/services.ts";
import type { Job } from "./protocol.ts";

/** The statement every PostgreSQL scenario runs: pgbench -S's read, as one autocommit statement. */
export const SELECT_SQL = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
/** Same as the probe: a query that hangs fails after this instead of pinning its connection. */
const QUERY_TIMEOUT_MS = 15_000;

export interface Timings {
  /** Called with the ms it took to get a connection (new or from a pool). */
  acquired(ms: number): void;
  connected(): void;
}

export interface Instance {
  /** One request; resolves when its answer is in. */
  run(t: Timings): Promise<void>;
  close(): Promise<void>;
}

const randomAid = (rows: number) => 1 + Math.floor(Math.random() * rows);

function pgNew(job: Job): Instance {
  return {
    async run(t) {
      const client = new pg.Client({ connectionString: job.url, connectionTimeoutMillis: job.connectionTimeoutMs, query_timeout: QUERY_TIMEOUT_MS });
      client.on("error", () => undefined);
      const started = performance.now();
      try {
        await client.connect();
        t.acquired(performance.now() - started);
        t.connected();
        await client.query(SELECT_SQL, [randomAid(job.rows)]);
      } finally {
        // Outside the timed part: the answer is in, but the loop pays the close like a request would.
        await client.end().catch(() => undefined);
      }
    },
    close: async () => undefined,
  };
}

function pgPool(job: Job, t: Timings): Instance {
  const pool = new pg.Pool({
    connectionString: job.url,
    max: job.poolMax,
    idleTimeoutMillis: job.poolIdleTimeoutMs,
    connectionTimeoutMillis: job.connectionTimeoutMs,
    query_timeout: QUERY_TIMEOUT_MS,
    application_name: "pooling-bench",
  });
  pool.on("error", () => undefined);
  pool.on("connect", () => t.connected());
  return {
    async run(timings) {
      const started = performance.now();
      const client = await pool.connect();
      timings.acquired(performance.now() - started);
      let broken: Error | undefined;
      try {
        await client.query(SELECT_SQL, [randomAid(job.rows)]);
      } catch (err) {
        broken = err as Error;
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

function httpKeepAlive(job: Job, t: Timings): Instance {
  const agent = new Agent({
    connections: job.httpMaxSockets,
    keepAliveTimeout: job.httpKeepAliveTimeoutMs,
    keepAliveMaxTimeout: job.httpKeepAliveTimeoutMs,
    headersTimeout: 5000,
    bodyTimeout: 5000,
  });
  agent.on("connect", () => t.connected());
  return {
    async run() {
      const res = await request(job.url, { method: "GET", dispatcher: agent });
      await res.body.arrayBuffer();
      if (res.statusCode >= 400) throw Object.assign(new Error(`HTTP ${res.statusCode}`), { code: `HTTP_${res.statusCode}` });
    },
    close: () => agent.close(),
  };
}

function httpNew(job: Job): Instance {
  const origin = new URL(job.url).origin;
  return {
    async run(t) {
      const client = new Client(origin, { pipelining: 1, headersTimeout: 5000, bodyTimeout: 5000 });
      t.connected();
      try {
        const res = await request(job.url, { method: "GET", dispatcher: client });
        await res.body.arrayBuffer();
        if (res.statusCode >= 400) throw Object.assign(new Error(`HTTP ${res.statusCode}`), { code: `HTTP_${res.statusCode}` });
      } finally {
        await client.close().catch(() => undefined);
      }
    },
    close: async () => undefined,
  };
}

/**
 * The probe's Redis options: one auto-pipelined connection, failing fast rather than queueing; the CA
 * (read once, when the instance is made) for a rediss:// URL.
 */
const redisOptions = (job: Job, extra: RedisOptions): RedisOptions => ({
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 2000,
  connectTimeout: 3000,
  ...redisTlsOptions(job.tls),
  ...extra,
});

const redisKey = (i: number) => `bench:counter:${i}`;

function redisShared(job: Job, t: Timings, index: number): Instance {
  const client = new Redis(job.url, redisOptions(job, { enableAutoPipelining: true, lazyConnect: true, connectionName: "pooling-bench" }));
  client.on("error", () => undefined);
  client.on("connect", () => t.connected());
  const ready = client.connect();
  ready.catch(() => undefined);
  return {
    async run() {
      await ready;
      await client.incr(redisKey(index));
    },
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

function redisNew(job: Job, index: number): Instance {
  const options = redisOptions(job, { lazyConnect: true, retryStrategy: () => null });
  return {
    async run(t) {
      const client = new Redis(job.url, options);
      client.on("error", () => undefined);
      const started = performance.now();
      try {
        await client.connect();
        t.acquired(performance.now() - started);
        t.connected();
        await client.incr(redisKey(index));
      } finally {
        await client.quit().catch(() => client.disconnect());
      }
    },
    close: async () => undefined,
  };
}

export function createInstance(job: Job, t: Timings, index: number): Instance {
  switch (job.mode) {
    case "pg-new":
      return pgNew(job);
    case "pg-pool":
      return pgPool(job, t);
    case "http-keepalive":
      return httpKeepAlive(job, t);
    case "http-new":
      return httpNew(job);
    case "redis-shared":
      return redisShared(job, t, index);
    case "redis-new":
      return redisNew(job, index);
  }
}
