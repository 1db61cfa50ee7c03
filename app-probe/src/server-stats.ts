/**
 * Reads the server-side view of pooling: PgBouncer's admin console (SHOW POOLS / SHOW STATS) and
 * PostgreSQL's pg_stat_activity.
 *
 * Each read uses one short-lived client, closed in `finally`: these run at most once per scrape
 * interval, so a pool would only hold a connection open for nothing (and on pg_stat_activity it would
 * count itself).
 */
import pg from "pg";

export interface PgbouncerPool {
  database: string;
  user: string;
  clActive: number;
  clWaiting: number;
  svActive: number;
  svIdle: number;
  svUsed: number;
  maxwaitSeconds: number;
  poolMode: string;
}

export interface PgbouncerStat {
  database: string;
  xactCount: number;
  queryCount: number;
  avgXactSeconds: number;
  avgWaitSeconds: number;
}

export interface PgbouncerFigures {
  pools: PgbouncerPool[];
  stats: PgbouncerStat[];
}

export interface PostgresFigures {
  maxConnections: number;
  /** Client backends grouped by database, user and state; the scraping connection itself excluded. */
  backends: { database: string; user: string; state: string; count: number }[];
}

const READ_TIMEOUT_MS = 3000;

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: READ_TIMEOUT_MS, query_timeout: READ_TIMEOUT_MS });
  // An error event on an unattended client would otherwise crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

type Row = Record<string, unknown>;
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const str = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

export function parsePools(rows: Row[]): PgbouncerPool[] {
  return rows.map((r) => ({
    database: str(r.database),
    user: str(r.user),
    clActive: num(r.cl_active),
    clWaiting: num(r.cl_waiting),
    svActive: num(r.sv_active),
    svIdle: num(r.sv_idle),
    svUsed: num(r.sv_used),
    maxwaitSeconds: num(r.maxwait) + num(r.maxwait_us) / 1e6,
    poolMode: str(r.pool_mode),
  }));
}

export function parseStats(rows: Row[]): PgbouncerStat[] {
  return rows.map((r) => ({
    database: str(r.database),
    xactCount: num(r.total_xact_count),
    queryCount: num(r.total_query_count),
    avgXactSeconds: num(r.avg_xact_time) / 1e6,
    avgWaitSeconds: num(r.avg_wait_time) / 1e6,
  }));
}

/** The admin console speaks only the simple query protocol: plain text queries, no parameters. */
export function readPgbouncer(adminUrl: string): Promise<PgbouncerFigures> {
  return withClient(adminUrl, async (client) => {
    const pools = await client.query<Row>("SHOW POOLS");
    const stats = await client.query<Row>("SHOW STATS");
    return { pools: parsePools(pools.rows), stats: parseStats(stats.rows) };
  });
}

export function readPostgres(directUrl: string): Promise<PostgresFigures> {
  return withClient(directUrl, async (client) => {
    const max = await client.query<{ max_connections: string }>("SHOW max_connections");
    const backends = await client.query<{ database: string | null; user: string | null; state: string | null; count: string }>(
      `SELECT datname AS database, usename AS "user", coalesce(state, 'unknown') AS state, count(*) AS count
         FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    return {
      maxConnections: num(max.rows[0]?.max_connections),
      backends: backends.rows.map((r) => ({ database: str(r.database), user: str(r.user), state: str(r.state), count: num(r.count) })),
    };
  });
}
