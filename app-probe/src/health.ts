/**
 * Liveness and readiness.
 *
 * Liveness only proves the process answers (and reports how late its event loop runs): restarting a
 * process because a database is down would not bring the database back. Readiness asks the real
 * question — can this replica serve /probe now — through the same pools the requests use.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import { asError, withTimeout } from "./errors.ts";
import type { PgDatabase } from "./postgres.ts";
import type { RedisCommands } from "./redis.ts";
import { pgPoolFigures, type PgPoolFigures } from "./stats.ts";

/** Each readiness check gives up after this, so /readyz answers well inside a kubelet's probe timeout. */
export const READY_CHECK_TIMEOUT_MS = 2000;

const SAMPLE_MS = 10;

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: SAMPLE_MS });

  constructor() {
    this.histogram.enable();
  }

  /** Delay percentiles in ms since the previous call; each call starts a new window. */
  read(): { p50: number; p99: number; max: number } {
    const h = this.histogram;
    // The histogram records the whole time between samples; the delay is what exceeds the sampling interval.
    const ms = (ns: number) => Math.round(Math.max(0, (Number.isFinite(ns) ? ns : 0) / 1e6 - SAMPLE_MS) * 100) / 100;
    const figures = { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    h.reset();
    return figures;
  }

  stop(): void {
    this.histogram.disable();
  }
}

export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  /** Names of the failing checks, so a 503 says what is wrong without reading the details. */
  failing: string[];
  checks: {
    draining: { ok: boolean };
    /** Absent while draining: the pools may already be closing, and the answer is "not ready" anyway. */
    postgres?: CheckResult & { pool: PgPoolFigures };
    redis?: CheckResult;
  };
}

async function timed(name: string, fn: () => Promise<void>, clean: (s: string) => string): Promise<CheckResult> {
  const started = performance.now();
  try {
    await withTimeout(fn(), READY_CHECK_TIMEOUT_MS, () => new Error(`${name} check timed out after ${READY_CHECK_TIMEOUT_MS} ms`));
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - started), error: clean(asError(err).message) };
  }
}

export interface ReadinessSources {
  db: PgDatabase;
  pgPoolMax: number;
  redis: RedisCommands;
  draining: () => boolean;
  /** Masks secrets in error text before it is shown. */
  clean: (s: string) => string;
}

export async function checkReadiness(src: ReadinessSources): Promise<Readiness> {
  if (src.draining()) return { ready: false, failing: ["draining"], checks: { draining: { ok: false } } };
  const [postgres, redis] = await Promise.all([
    timed("postgres", () => src.db.ping(), src.clean),
    timed("redis", () => src.redis.ping(), src.clean),
  ]);
  const checks = {
    draining: { ok: true },
    postgres: { ...postgres, pool: pgPoolFigures(src.db, src.pgPoolMax) },
    redis,
  };
  const failing = Object.entries(checks)
    .filter(([, c]) => !c.ok)
    .map(([name]) => name);
  return { ready: failing.length === 0, failing, checks };
}
