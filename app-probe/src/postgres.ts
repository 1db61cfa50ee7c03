/**
 * The probe's PostgreSQL access: one node-postgres Pool pointed at PgBouncer, and the transaction helper
 * every write goes through.
 */
import { tlsClientOptions, urlForOwnTls } from "./tls.ts";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { Pool, PoolClient, QueryConfig, QueryResultRow } from "pg";
import type { ProbeEnv } from "./env.ts";
import { DependencyError, asError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";

/**
 * A query that never answers (a wedged server, a half-open socket) would pin its pool client forever.
 * After this long the query fails; the transaction helper then destroys the client instead of reusing it.
 */
export const PG_QUERY_TIMEOUT_MS = 15_000;

export type PgErrorKind = "acquire_timeout" | "connection" | "query";

/** Sorts a pg error into the few kinds an operator acts on differently. */
export function classifyPgError(err: unknown): PgErrorKind {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === "string" ? e.message : "";
  if (message.includes("timeout exceeded when trying to connect")) return "acquire_timeout";
  const code = typeof e.code === "string" ? e.code : "";
  // SQLSTATE class 08 = connection exception, 57P0x = server shutting down; E… are Node socket codes.
  if (code.startsWith("08") || code.startsWith("57P") || /^E[A-Z]+$/.test(code)) return "connection";
  // node-postgres reports a dropped or timed-out connection with a message and no code.
  if (code === "" && /terminat|closed|not queryable|connection|timeout/i.test(message)) return "connection";
  return "query";
}

export function createPgPool(env: ProbeEnv, log: Logger, metrics: Metrics): Pool {
  const ssl = tlsClientOptions(env);
  const pool = new pg.Pool({
    // With TLS_CA_FILE: `ssl: { ca, rejectUnauthorized: true }`, and the host name checked against
    // PgBouncer's certificate (Node's checkServerIdentity; node-postgres connects the socket to the URL's
    // host, which is the name verified, an address matched against the IP SANs).
    connectionString: urlForOwnTls(env.databaseUrl, ssl),
    ...(ssl ? { ssl } : {}),
    max: env.pgPoolMax,
    idleTimeoutMillis: env.pgIdleTimeoutMs,
    connectionTimeoutMillis: env.pgConnectionTimeoutMs,
    query_timeout: PG_QUERY_TIMEOUT_MS,
    // TCP keep-alive notices a peer that vanished without a FIN (a killed node, a dropped route).
    keepAlive: true,
    application_name: "pooling-probe",
  });
  // An idle client whose server went away emits 'error'; without a listener that would crash the process.
  // The pool has already removed the client, so logging is all that is left to do.
  pool.on("error", (err) => {
    metrics.pgErrors.inc({ kind: "idle_client" });
    log.warn({ err }, "idle postgres client failed and was removed from the pool");
  });
  return pool;
}

export interface TransactionOptions {
  /** Called with the time spent waiting for a client, in seconds. */
  onAcquired?: (seconds: number) => void;
  /** Called after a transaction that failed before sending anything was tried again, with how it went. */
  onRetry?: (outcome: "recovered" | "failed") => void;
  /**
   * How long, from the first failure, the retry keeps trying to open its fresh connection (a PgBouncer
   * that is restarting refuses connections for a moment). Defaults to the pool's own acquire timeout,
   * `connectionTimeoutMillis`; 0 makes one attempt only.
   */
  reconnectWithinMs?: number;
  /** How time is read and waited; the real clock unless a test passes a virtual one. */
  clock?: Clock;
}

/** Time as the retry reads and waits it. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<unknown>;
}

const REAL_CLOCK: Clock = { now: () => performance.now(), sleep: (ms) => sleep(ms) };

/** Backoff between attempts to open the retry's fresh connection: doubles from the first to the last. */
export const RECONNECT_BACKOFF_MS = { first: 25, max: 250 } as const;

/**
 * The transaction failed before any of its statements reached the server: the connection could not be
 * made, or it broke on BEGIN (a pooled connection whose PgBouncer went away). BEGIN changes nothing, so
 * running the whole transaction again cannot apply a write twice.
 */
export class NothingSentError extends Error {
  readonly code = "PG_NOTHING_SENT";
  constructor(readonly original: unknown) {
    super(asError(original).message, { cause: original });
    this.name = "NothingSentError";
  }
}

/** Clients that have been handed out before: a retry wants one the pool has just opened. */
const usedClients = new WeakSet<PoolClient>();

/**
 * A client on a connection opened now. Idle clients may all sit on sockets to a PgBouncer that is
 * gone, so each reused one is destroyed until the pool opens a new one (bounded by the pool's size).
 */
async function freshClient(pool: Pool): Promise<PoolClient> {
  for (let i = 0; ; i++) {
    const client = await pool.connect();
    if (!usedClients.has(client) || i > pool.options.max) return client;
    client.release(true);
  }
}

/**
 * Runs `fn` inside BEGIN … COMMIT on one pooled client. Whatever happens the transaction is ended
 * (COMMIT, or ROLLBACK when `fn` or COMMIT throws) and the client goes back to the pool. A client whose
 * ROLLBACK fails is in an unknown state, so it is released with the error, which makes the pool destroy
 * it rather than hand it to the next caller. A failure before anything was sent is tried once more on
 * a fresh connection, which may wait for the server to come back (see {@link reconnect}) up to
 * `reconnectWithinMs` after the failure; anything later (a failed COMMIT above all: it may have been
 * applied) is not. `fn` runs at most twice, the second time only if nothing of the first reached the server.
 */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
  try {
    return await attempt(fn, opts, () => pool.connect());
  } catch (err) {
    if (!(err instanceof NothingSentError)) throw err;
  }
  const clock = opts.clock ?? REAL_CLOCK;
  const deadline = clock.now() + (opts.reconnectWithinMs ?? pool.options.connectionTimeoutMillis ?? 0);
  try {
    const result = await attempt(fn, opts, () => reconnect(pool, deadline, clock));
    opts.onRetry?.("recovered");
    return result;
  } catch (err) {
    opts.onRetry?.("failed");
    throw err instanceof NothingSentError ? err.original : err;
  }
}

/**
 * A fresh client for the retry. While the connection cannot be made (PgBouncer restarting refuses it),
 * tries again after 25 ms, 50 ms, … up to 250 ms apart, until `deadline`; the last attempt starts at the
 * deadline at the latest, and each is bounded by the pool's own acquire timeout. Any other failure (the
 * pool's acquire timeout above all) ends it at once.
 */
async function reconnect(pool: Pool, deadline: number, clock: Clock): Promise<PoolClient> {
  for (let delay: number = RECONNECT_BACKOFF_MS.first; ; delay = Math.min(delay * 2, RECONNECT_BACKOFF_MS.max)) {
    try {
      return await freshClient(pool);
    } catch (err) {
      const left = deadline - clock.now();
      if (!brokeBeforeSending(err) || left <= 0) throw err;
      if (delay >= left) {
        // One last attempt, at the deadline. Sleeping what is left and checking again would end in a
        // run of sub-millisecond waits: a timer may fire a fraction of a millisecond early.
        await clock.sleep(left);
        return freshClient(pool);
      }
      await clock.sleep(delay);
    }
  }
}

const brokeBeforeSending = (err: unknown) => classifyPgError(err) === "connection";

async function attempt<T>(fn: (client: PoolClient) => Promise<T>, opts: TransactionOptions, connect: () => Promise<PoolClient>): Promise<T> {
  const started = performance.now();
  const client = await connect().catch((err: unknown) => {
    throw brokeBeforeSending(err) ? new NothingSentError(err) : err;
  });
  opts.onAcquired?.((performance.now() - started) / 1000);
  let broken: Error | undefined;
  // The pool stops listening for errors on a client it hands out. If the server goes away between two
  // queries the client emits 'error', which would crash the process without this listener; the client
  // is then broken and must be destroyed on release.
  const onError = (err: Error) => {
    broken = err;
  };
  client.on("error", onError);
  let begun = false;
  try {
    await client.query("BEGIN");
    begun = true;
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    if (!begun && brokeBeforeSending(err)) {
      broken = asError(err);
      throw new NothingSentError(err);
    }
    try {
      await client.query("ROLLBACK");
    } catch (rollbackErr) {
      broken = asError(rollbackErr);
    }
    throw err;
  } finally {
    usedClients.add(client);
    client.off("error", onError);
    client.release(broken);
  }
}

const SCHEMA_LOCK = 7_310_522; // any constant; serialises concurrent start-ups of several replicas

/** Creates the probe's tables. Safe to run from many replicas at once. */
export async function ensureSchema(pool: Pool): Promise<void> {
  await withTransaction(pool, async (client) => {
    // CREATE TABLE IF NOT EXISTS is not atomic against itself: two sessions can both decide to create.
    await client.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS probe_counters (
      id text PRIMARY KEY,
      n bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now())`);
    // Append-only: one row per acknowledged /probe write, so a fault test can check each one by id.
    await client.query(`CREATE TABLE IF NOT EXISTS probe_writes (
      id uuid PRIMARY KEY,
      counter_id text NOT NULL,
      n bigint NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);
  });
}

/**
 * The pool plus its instrumentation: acquire time, query time and errors by kind are recorded here so the
 * request handlers stay free of bookkeeping.
 */
export class PgDatabase {
  private schemaReady: Promise<void> | undefined;

  constructor(
    readonly pool: Pool,
    private readonly env: ProbeEnv,
    private readonly metrics: Metrics,
  ) {}

  /** Named (server-side prepared) statements only when allowed: transaction-mode PgBouncer < 1.21 breaks them. */
  statement(name: string, text: string, values: unknown[]): QueryConfig {
    return this.env.pgPreparedStatements ? { name, text, values } : { text, values };
  }

  async timedQuery<R extends QueryResultRow>(client: PoolClient, label: string, query: QueryConfig): Promise<R[]> {
    const end = this.metrics.pgQuery.startTimer({ query: label });
    try {
      return (await client.query<R>(query)).rows;
    } finally {
      end();
    }
  }

  /** {@link withTransaction} with metrics, and errors turned into a 503 {@link DependencyError}. */
  async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      await this.ensureSchema();
      return await withTransaction(this.pool, fn, {
        onAcquired: (s) => this.metrics.pgAcquire.observe(s),
        onRetry: (outcome) => this.metrics.pgRetries.inc({ outcome }),
        reconnectWithinMs: this.env.pgConnectionTimeoutMs,
      });
    } catch (err) {
      throw this.failure(err);
    }
  }

  /** One `SELECT 1` through the pool, as readiness sees it. */
  async ping(): Promise<void> {
    const started = performance.now();
    const client = await this.pool.connect().catch((err: unknown) => {
      throw this.failure(err);
    });
    this.metrics.pgAcquire.observe((performance.now() - started) / 1000);
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on("error", onError);
    try {
      await client.query("SELECT 1");
    } catch (err) {
      broken = asError(err);
      throw this.failure(err);
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }

  /**
   * Creates the tables once. A failure (PostgreSQL down at start-up) is forgotten so the next caller
   * tries again: the probe starts without its database and recovers when it appears.
   */
  ensureSchema(): Promise<void> {
    this.schemaReady ??= ensureSchema(this.pool).catch((err: unknown) => {
      this.schemaReady = undefined;
      throw err;
    });
    return this.schemaReady;
  }

  private failure(err: unknown): DependencyError {
    if (err instanceof DependencyError) return err;
    const kind = classifyPgError(err);
    this.metrics.pgErrors.inc({ kind });
    return new DependencyError("postgres", kind, `postgres ${kind.replace("_", " ")}: ${asError(err).message}`, { cause: err });
  }
}
