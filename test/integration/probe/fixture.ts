/**
 * Test fixture: a fresh local stack (real postgres, pgbouncer, redis-server) plus the probe running
 * in-process against it, configured from the stack config exactly as the local stack would configure it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { waitUntil } from "../../../lib/wait.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { request, type Agent } from "undici";
import { probeEnvironment } from "../../../infra/render/probe.ts";
import { clientTlsOf, startLocalStack, type LocalStack } from "../../../local/stack.ts";
import { loadProbeEnv, type ProbeEnv } from "../../../app-probe/src/env.ts";
import { createProbe, type Probe, type ProbeOptions } from "../../../app-probe/src/probe.ts";

export interface ProbeFixture {
  stack: LocalStack;
  /** The probe started with the fixture. */
  probe: Probe;
  env: ProbeEnv;
  /** Every log line written by every probe this fixture started. */
  logs: string[];
  /** Every password in play, to assert none leaks. */
  secrets: string[];
  /** Starts another probe against the same stack (closed by stop() if the test does not). */
  startProbe(overrides?: Record<string, string>): Promise<Probe>;
  /** A client for the tests' own queries, straight to PostgreSQL. */
  query<R extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

export async function startProbeFixture(
  opts: { env?: Record<string, string>; overrides?: Record<string, unknown>; probe?: Omit<ProbeOptions, "logDestination"> } = {},
): Promise<ProbeFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), "probe-it-"));
  const stack = await startLocalStack({ dataDir, fresh: true, freePorts: true, installMissing: false, ...(opts.overrides ? { overrides: opts.overrides } : {}) });
  const logs: string[] = [];
  const probes: Probe[] = [];
  // Superuser, but in the app database, where the probe's tables are.
  const directUrl = new URL(stack.postgres.url);
  directUrl.pathname = `/${stack.config.postgres.database}`;
  const direct = new pg.Pool({ connectionString: directUrl.toString(), max: 2 });
  direct.on("error", () => undefined);
  const baseEnv = {
    ...probeEnvironment(stack.config, {
      databaseUrl: stack.pgbouncer.url,
      directDatabaseUrl: stack.postgres.appUrl,
      pgbouncerStatsUrl: stack.pgbouncer.statsUrl,
      redisUrl: stack.redis.url,
      tls: clientTlsOf(stack),
      host: "127.0.0.1",
      port: 0,
    }),
    LOG_LEVEL: "info",
    // Short enough that a test sees fresh PgBouncer figures without waiting.
    METRICS_SCRAPE_INTERVAL_MS: "200",
    ...opts.env,
  };
  const startProbe = async (overrides: Record<string, string> = {}) => {
    const probe = await createProbe(loadProbeEnv({ ...baseEnv, ...overrides }), {
      ...opts.probe,
      logDestination: { write: (line: string) => void logs.push(line) },
    });
    probes.push(probe);
    return probe;
  };
  let probe: Probe;
  try {
    probe = await startProbe();
  } catch (err) {
    await direct.end();
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const secrets = [stack.postgres.url, stack.postgres.appUrl, stack.pgbouncer.url, stack.pgbouncer.adminUrl, stack.pgbouncer.statsUrl, stack.redis.url]
    .map((u) => decodeURIComponent(new URL(u).password))
    .filter((p) => p !== "");
  return {
    stack,
    probe,
    env: loadProbeEnv(baseEnv),
    logs,
    secrets,
    startProbe,
    query: async (sql, values) => (await direct.query(sql, values)).rows,
    stop: async () => {
      try {
        await Promise.allSettled(probes.map((p) => p.close()));
        await direct.end().catch(() => undefined);
      } finally {
        await stack.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
}

/** A GET with its own dispatcher (never the probe's), body always read. */
export async function get<T = Record<string, unknown>>(url: string, dispatcher?: Agent, signal?: AbortSignal): Promise<Reply<T>> {
  const res = await request(url, { method: "GET", ...(dispatcher ? { dispatcher } : {}), ...(signal ? { signal } : {}) });
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // /metrics is text, not JSON.
  }
  return { status: res.statusCode, body: body as T, text };
}

/** Polls `check` until it returns true, failing with `what` after `timeoutMs` (lib/wait.ts). */
export const eventually = (what: string, check: () => Promise<boolean>, timeoutMs = 30_000, intervalMs = 200): Promise<void> => waitUntil(what, check, timeoutMs, intervalMs);
