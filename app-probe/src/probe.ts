/**
 * Builds the probe from a validated environment: clients, routes, server and lifecycle. `main.ts` only
 * wires process signals to {@link Probe.close}; tests run the same thing in-process.
 */
import net, { type AddressInfo } from "node:net";
import type { DestinationStream } from "pino";
import type { ProbeEnv } from "./env.ts";
import { asError, withTimeout } from "./errors.ts";
import { EventLoopMonitor, checkReadiness, type Readiness } from "./health.ts";
import { HttpClient, defaultUpstreamUrl } from "./http-client.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createMetrics, registerStatsGauges } from "./metrics.ts";
import { PgDatabase, createPgPool } from "./postgres.ts";
import { parseProbeQuery, runProbe } from "./probe-route.ts";
import { passwordsOf, redactText } from "./redact.ts";
import { RedisCommands } from "./redis.ts";
import { CachedScrape } from "./scrape.ts";
import { readPgbouncer, readPostgres } from "./server-stats.ts";
import { createServer, type Route } from "./server.ts";
import { collectStats, type ProbeStats } from "./stats.ts";

/** How long shutdown lets open connections take their last answer before closing idle ones. */
const SETTLE_MS = 1000;

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

export async function createProbe(env: ProbeEnv, options: ProbeOptions = {}): Promise<Probe> {
  const secrets = passwordsOf([env.databaseUrl, env.directDatabaseUrl, env.pgbouncerAdminUrl, env.redisUrl, env.upstreamUrl]);
  const clean = (s: string) => redactText(s, secrets);
  const log = createLogger(env.logLevel, secrets, options.logDestination);
  const metrics = createMetrics();
  const db = new PgDatabase(createPgPool(env, log, metrics), env, metrics);
  const redis = new RedisCommands(env, log, metrics);
  const http = new HttpClient(env, metrics, options.upstreamTimeoutMs);
  const eventLoop = new EventLoopMonitor();
  const describe = (err: unknown) => clean(asError(err).message);
  const pgbouncerScrape =
    env.pgbouncerAdminUrl === undefined
      ? undefined
      : new CachedScrape(() => readPgbouncer(env.pgbouncerAdminUrl as string), env.metricsScrapeIntervalMs, describe);
  const postgresScrape =
    env.directDatabaseUrl === undefined
      ? undefined
      : new CachedScrape(() => readPostgres(env.directDatabaseUrl as string), env.metricsScrapeIntervalMs, describe);

  let draining = false;
  let upstreamUrl = env.upstreamUrl ?? "";
  const startedAt = Date.now();

  const stats = () =>
    collectStats({
      db,
      pgPoolMax: env.pgPoolMax,
      redis,
      http,
      pgbouncer: pgbouncerScrape,
      postgres: postgresScrape,
      lifecycle: () => ({ draining, inFlight: srv.inFlight() }),
    });
  registerStatsGauges(metrics.registry, stats);
  const readiness = () => checkReadiness({ db, pgPoolMax: env.pgPoolMax, redis, draining: () => draining, clean });

  const routes: Record<string, Route> = {
    "/healthz": async () => ({
      status: 200,
      body: { status: "ok", uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), eventLoopDelayMs: eventLoop.read() },
    }),
    "/readyz": async () => {
      const r = await readiness();
      return { status: r.ready ? 200 : 503, body: r };
    },
    "/metrics": async () => ({ status: 200, body: await metrics.registry.metrics(), contentType: metrics.registry.contentType }),
    "/stats": async () => ({ status: 200, body: await stats() }),
    "/upstream": async () => ({ status: 200, body: { ok: true } }),
    "/probe": async (url, _req, signal) => {
      const query = parseProbeQuery(url.searchParams);
      const result = await runProbe({ db, redis, http, upstreamUrl: () => upstreamUrl }, query, signal);
      return { status: 200, body: { ok: true, ...result } };
    },
  };
  const srv = createServer({
    routes,
    drainExempt: new Set(["/upstream"]),
    alwaysServed: new Set(["/healthz", "/readyz", "/metrics", "/stats"]),
    keepAliveTimeoutMs: env.serverKeepAliveTimeoutMs,
    isDraining: () => draining,
    log,
    metrics,
    clean,
  });

  const closeClients = async (budgetMs: number) => {
    const results = await Promise.allSettled([
      withTimeout(http.close(), budgetMs, () => new Error("http agent did not close in time")),
      withTimeout(db.pool.ended ? Promise.resolve() : db.pool.end(), budgetMs, () => new Error("postgres pool did not close in time")),
      withTimeout(redis.close(), budgetMs, () => new Error("redis did not close in time")),
    ]);
    for (const r of results) if (r.status === "rejected") log.warn({ err: r.reason }, "client close incomplete");
    eventLoop.stop();
  };

  try {
    await new Promise<void>((resolve, reject) => {
      srv.server.once("error", reject);
      srv.server.listen(env.port, env.host, () => {
        srv.server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    await closeClients(1000);
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
  // Tools (the local stack, tests) read the URL from this line, so it is written even when LOG_LEVEL is
  // above info; only "silent" suppresses it.
  const listening = log.isLevelEnabled("info") ? "info" : log.level === "silent" ? "silent" : (log.level as "warn");
  log[listening]({ url, host: env.host, port, upstream: upstreamUrl }, "listening");

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      const started = Date.now();
      const clientBudget = Math.min(2000, Math.floor(env.shutdownGraceMs / 4));
      const deadline = started + env.shutdownGraceMs - clientBudget;
      log.info({ inFlight: srv.inFlight(), graceMs: env.shutdownGraceMs }, "draining");
      // Phase 1: the listener stays open so in-flight /probe calls can still reach /upstream (the
      // default upstream is this very server); new work gets an explicit, retryable 503 `draining`.
      try {
        await withTimeout(srv.idle(), Math.max(0, deadline - Date.now()), () => new Error("grace period over"));
      } catch {
        log.warn({ inFlight: srv.inFlight() }, "grace period over; closing remaining requests");
      }
      // Phase 2: stop accepting. This is net.Server's close on purpose: http.Server's would also cut idle
      // keep-alive sockets at once, racing any request a client is sending on one right now. Instead every
      // socket gets one more answer (503 `draining`, Connection: close) and closes itself.
      const serverClosed = new Promise<void>((resolve) => net.Server.prototype.close.call(srv.server, () => resolve()));
      await http.close().catch((err: unknown) => log.warn({ err }, "http agent close failed"));
      const settle = Math.min(SETTLE_MS, Math.max(0, deadline - Date.now()));
      await withTimeout(serverClosed, settle, () => new Error("settling")).catch(() => undefined);
      // Now http.Server's own close: it drops the sockets still idle and stops its request-timeout timer.
      srv.server.close();
      // Phase 3: past the grace period nothing is waited for.
      await withTimeout(serverClosed, Math.max(0, deadline - Date.now()), () => new Error("connections still open")).catch(() => {
        srv.server.closeAllConnections();
        return serverClosed;
      });
      await closeClients(clientBudget);
      log.info({ ms: Date.now() - started }, "stopped");
    })();
    return closing;
  };

  return { url, port, log, stats, readiness, close };
}
