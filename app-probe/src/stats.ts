/**
 * One snapshot of every pool figure the probe knows: served as JSON by /stats and read by the gauges in
 * /metrics, so the two always agree.
 */
import type { HttpClient, HttpFigures } from "./http-client.ts";
import type { PgDatabase } from "./postgres.ts";
import type { RedisCommands, RedisFigures } from "./redis.ts";
import type { CachedScrape, ScrapeResult } from "./scrape.ts";
import type { PgbouncerFigures, PostgresFigures } from "./server-stats.ts";

export interface PgPoolFigures {
  total: number;
  idle: number;
  waiting: number;
  /** Configured PG_POOL_MAX: saturation is judged against this, never a constant. */
  max: number;
  /** Every client is checked out and callers are queueing. */
  saturated: boolean;
}

export interface ProbeStats {
  draining: boolean;
  inFlight: number;
  postgresPool: PgPoolFigures;
  redis: RedisFigures;
  http: HttpFigures;
  /** null when PGBOUNCER_ADMIN_URL is not set. */
  pgbouncer: ScrapeResult<PgbouncerFigures> | null;
  /** null when DIRECT_DATABASE_URL is not set. */
  postgres: ScrapeResult<PostgresFigures> | null;
}

export interface StatsSources {
  db: PgDatabase;
  pgPoolMax: number;
  redis: RedisCommands;
  http: HttpClient;
  pgbouncer: CachedScrape<PgbouncerFigures> | undefined;
  postgres: CachedScrape<PostgresFigures> | undefined;
  lifecycle: () => { draining: boolean; inFlight: number };
}

export function pgPoolFigures(db: PgDatabase, max: number): PgPoolFigures {
  const { totalCount: total, idleCount: idle, waitingCount: waiting } = db.pool;
  return { total, idle, waiting, max, saturated: total >= max && idle === 0 && waiting > 0 };
}

export async function collectStats(src: StatsSources): Promise<ProbeStats> {
  const [pgbouncer, postgres] = await Promise.all([src.pgbouncer?.get() ?? null, src.postgres?.get() ?? null]);
  return {
    ...src.lifecycle(),
    postgresPool: pgPoolFigures(src.db, src.pgPoolMax),
    redis: src.redis.figures,
    http: src.http.figures,
    pgbouncer,
    postgres,
  };
}
