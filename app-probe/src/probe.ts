/**
 * Builds the probe from a validated environment: clients, routes, server and lifecycle. `main.ts` only
 * wires process signals to {@link Probe.close}; tests run the same thing in-process.
 */
import type { AddressInfo } from "node:net";
import type { DestinationStream } from "pino";
import type { ProbeEnv } from "./env.ts";
import { asError } from "./errors.ts";
import { EventLoopMonitor, checkReadiness, type Readiness } from "./health.ts";
import { HttpClient, defaultUpstreamUrl } from "./http-client.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createMetrics, registerReadinessGauge, registerStatsGauges, type Metrics } from "./metrics.ts";
import { PgDatabase, createPgPool } from "./postgres.ts";
import { parseProbeQuery, runProbe } from "./probe-route.ts";
import { passwordsOf, redactText } from "./redact.ts";
import { RedisCommands } from "./redis.ts";
import { CachedScrape } from "./scrape.ts";
import { readPgbouncer, readPostgres, type PgbouncerFigures, type PostgresFigures } from "./server-stats.ts";
import { createServer, type ProbeServer, type Route } from "./server.ts";
import { closeClients, shutdown, type ProbeClients } from "./shutdown.ts";
import { collectStats, type ProbeStats } from "./stats.ts";

/** How long start-up waits for Redis before listening anyway (readiness reports it until it comes). */
const STARTUP_WAIT_MS = 3000;

export interface Probe {
  /** A URL that reaches the probe (loopback when it listens on every interface). */
  url: string;
  port: number;
  log: Logger;
  stats(): Promise<ProbeStats>;
  readiness(): Promise<Readiness>;
  /**
   * Graceful and idempotent: readiness fails at once, new work is refused (503 `draining`), in-flight
   * requests finish, the listener closes, then every pool. Resolves within SHUTDOWN_GRACE_MS.
   */
  close(): Promise<void>;
}

export interface ProbeOptions {
  /** Where log lines go (default stdout). */
  logDestination?: DestinationStream;
  /**
   * How long the upstream may take for its headers, and again for its body (default UPSTREAM_TIMEOUT_MS).
   * A test that starves the event loop on purpose raises it: the timer can fire before the loop reads
   * an answer that has long arrived.
   */
  upstreamTimeoutMs?: number;
}

/** Everything the probe talks to or reports from, built from the environment; nothing connects yet. */
interface Parts extends ProbeClients {
  log: Logger;
  metrics: Metrics;
  /** Masks every configured password in a text. */
  clean: (s: string) => string;
  pgbouncerScrape: CachedScrape<PgbouncerFigures> | undefined;
  postgresScrape: CachedScrape<PostgresFigures> | undefined;
}

function createParts(env: ProbeEnv, options: ProbeOptions): Parts {
  const secrets = passwordsOf([env.databaseUrl, env.directDatabaseUrl, env.pgbouncerAdminUrl, env.redisUrl, env.upstreamUrl]);
  const clean = (s: string) => redactText(s, secrets);
  const log = createLogger(env.logLevel, secrets, options.logDestination);
  const metrics = createMetrics();
  const describe = (err: unknown) => clean(asError(err).message);
  const scrape = <T>(url: string | undefined, read: (url: string) => Promise<T>) =>
    url === undefined ? undefined : new CachedScrape(() => read(url), env.metricsScrapeIntervalMs, describe);
  return {
    log,
    metrics,
    clean,
    db: new PgDatabase(createPgPool(env, log, metrics), env, metrics),
    redis: new RedisCommands(env, log, metrics),
    http: new HttpClient(env, metrics, options.upstreamTimeoutMs),
    eventLoop: new EventLoopMonitor(),
    pgbouncerScrape: scrape(env.pgbouncerAdminUrl, readPgbouncer),
    postgresScrape: scrape(env.directDatabaseUrl, readPostgres),
  };
}

/** The routes, over the parts and the probe's live state (draining, the upstream URL once known). */
function probeRoutes(
  p: Parts,
  state: { stats: () => Promise<ProbeStats>; readiness: () => Promise<Readiness>; upstreamUrl: () => string },
): Record<string, Route> {
  const startedAt = Date.now();
  return {
    "/healthz": async () => ({
      status: 200,
      body: { status: "ok", uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), eventLoopDelayMs: p.eventLoop.read() },
    }),
    "/readyz": async () => {
      const r = await state.readiness();
      return { status: r.ready ? 200 : 503, body: r };
    },
    "/metrics": async () => ({ status: 200, body: await p.metrics.registry.metrics(), contentType: p.metrics.registry.contentType }),
    "/stats": async () => ({ status: 200, body: await state.stats() }),
    "/upstream": async () => ({ status: 200, body: { ok: true } }),
    "/probe": async (url, _req, signal) => {
      const query = parseProbeQuery(url.searchParams);
      const result = await runProbe({ db: p.db, redis: p.redis, http: p.http, upstreamUrl: state.upstreamUrl }, query, signal);
      return { status: 200, body: { ok: true, ...result } };
    },
  };
}

function listen(srv: ProbeServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    srv.server.once("error", reject);
    srv.server.listen(port, host, () => {
      srv.server.off("error", reject);
      resolve();
    });
  });
}

/**
 * Tools (the local stack, tests) read the URL from this line, so it is written even when LOG_LEVEL is
 * above info; only "silent" suppresses it.
 */
function announceListening(log: Logger, fields: Record<string, unknown>): void {
  const level = log.isLevelEnabled("info") ? "info" : log.level === "silent" ? "silent" : (log.level as "warn");
  log[level](fields, "listening");
}

export async function createProbe(env: ProbeEnv, options: ProbeOptions = {}): Promise<Probe> {
  const p = createParts(env, options);
  const { log, db, redis, http } = p;
  let draining = false;
  let upstreamUrl = env.upstreamUrl ?? "";

  const stats = () =>
    collectStats({
      db,
      pgPoolMax: env.pgPoolMax,
      redis,
      http,
      pgbouncer: p.pgbouncerScrape,
      postgres: p.postgresScrape,
      lifecycle: () => ({ draining, inFlight: srv.inFlight() }),
    });
  registerStatsGauges(p.metrics.registry, stats);
  const readiness = () => checkReadiness({ db, pgPoolMax: env.pgPoolMax, redis, draining: () => draining, clean: p.clean });
  registerReadinessGauge(p.metrics.registry, readiness);

  const srv = createServer({
    routes: probeRoutes(p, { stats, readiness, upstreamUrl: () => upstreamUrl }),
    drainExempt: new Set(["/upstream"]),
    alwaysServed: new Set(["/healthz", "/readyz", "/metrics", "/stats"]),
    keepAliveTimeoutMs: env.serverKeepAliveTimeoutMs,
    isDraining: () => draining,
    log,
    metrics: p.metrics,
    clean: p.clean,
  });

  try {
    await listen(srv, env.port, env.host);
  } catch (err) {
    await closeClients(p, 1000, log);
    throw err;
  }
  const { port } = srv.server.address() as AddressInfo;
  const url = defaultUpstreamUrl(env.host, port).replace(/\/upstream$/, "");
  if (upstreamUrl === "") upstreamUrl = `${url}/upstream`;

  // Neither is required to start: a replica whose database is down starts, reports not-ready, and
  // recovers by itself. They only make the first requests after start-up cheaper.
  await Promise.all([
    redis.waitUntilReady(STARTUP_WAIT_MS),
    db.ensureSchema().catch((err: unknown) => log.warn({ err }, "schema not created yet; will retry on first write")),
  ]);
  announceListening(log, { url, host: env.host, port, upstream: upstreamUrl });

  let closing: Promise<void> | undefined;
  const close = () => {
    draining = true;
    closing ??= shutdown(srv, p, env.shutdownGraceMs, log);
    return closing;
  };

  return { url, port, log, stats, readiness, close };
}
