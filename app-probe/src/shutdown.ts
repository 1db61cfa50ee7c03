/**
 * The probe's graceful shutdown, phase by phase: drain (new work refused, in-flight work finishes),
 * stop accepting (every open socket gets one last answer), then close the clients. Each phase is bounded
 * so the whole fits in SHUTDOWN_GRACE_MS.
 */
import net from "node:net";
import { withTimeout } from "./errors.ts";
import type { EventLoopMonitor } from "./health.ts";
import type { HttpClient } from "./http-client.ts";
import type { Logger } from "./logger.ts";
import type { PgDatabase } from "./postgres.ts";
import type { RedisCommands } from "./redis.ts";
import type { ProbeServer } from "./server.ts";

/** How long shutdown lets open connections take their last answer before closing idle ones. */
const SETTLE_MS = 1000;

/** The probe's outbound clients and the monitor, closed last. */
export interface ProbeClients {
  db: PgDatabase;
  redis: RedisCommands;
  http: HttpClient;
  eventLoop: EventLoopMonitor;
}

/** Closes every client within `budgetMs` each; one that does not close in time is logged, not waited for. */
export async function closeClients(clients: ProbeClients, budgetMs: number, log: Logger): Promise<void> {
  const { http, db, redis, eventLoop } = clients;
  const results = await Promise.allSettled([
    withTimeout(http.close(), budgetMs, () => new Error("http agent did not close in time")),
    withTimeout(db.pool.ended ? Promise.resolve() : db.pool.end(), budgetMs, () => new Error("postgres pool did not close in time")),
    withTimeout(redis.close(), budgetMs, () => new Error("redis did not close in time")),
  ]);
  for (const r of results) if (r.status === "rejected") log.warn({ err: r.reason }, "client close incomplete");
  eventLoop.stop();
}

const remaining = (deadline: number) => Math.max(0, deadline - Date.now());

/**
 * Phase 1: the listener stays open so in-flight /probe calls can still reach /upstream (the default
 * upstream is this very server); new work gets an explicit, retryable 503 `draining` meanwhile.
 */
async function drain(srv: ProbeServer, deadline: number, log: Logger): Promise<void> {
  try {
    await withTimeout(srv.idle(), remaining(deadline), () => new Error("grace period over"));
  } catch {
    log.warn({ inFlight: srv.inFlight() }, "grace period over; closing remaining requests");
  }
}

/**
 * Phase 2: stop accepting. This is net.Server's close on purpose: http.Server's would also cut idle
 * keep-alive sockets at once, racing any request a client is sending on one right now. Instead every
 * socket gets one more answer (503 `draining`, Connection: close) and closes itself. Past the grace
 * period nothing is waited for.
 */
async function stopAccepting(srv: ProbeServer, http: HttpClient, deadline: number, log: Logger): Promise<void> {
  const serverClosed = new Promise<void>((resolve) => net.Server.prototype.close.call(srv.server, () => resolve()));
  await http.close().catch((err: unknown) => log.warn({ err }, "http agent close failed"));
  const settle = Math.min(SETTLE_MS, remaining(deadline));
  await withTimeout(serverClosed, settle, () => new Error("settling")).catch(() => undefined);
  // Now http.Server's own close: it drops the sockets still idle and stops its request-timeout timer.
  srv.server.close();
  await withTimeout(serverClosed, remaining(deadline), () => new Error("connections still open")).catch(() => {
    srv.server.closeAllConnections();
    return serverClosed;
  });
}

/**
 * The whole shutdown; the caller has already set draining, so readiness fails and new work is refused.
 * The clients get the last quarter of the grace period (at most 2 s).
 */
export async function shutdown(srv: ProbeServer, clients: ProbeClients, graceMs: number, log: Logger): Promise<void> {
  const started = Date.now();
  const clientBudget = Math.min(2000, Math.floor(graceMs / 4));
  const deadline = started + graceMs - clientBudget;
  log.info({ inFlight: srv.inFlight(), graceMs }, "draining");
  await drain(srv, deadline, log);
  await stopAccepting(srv, clients.http, deadline, log);
  await closeClients(clients, clientBudget, log);
  log.info({ ms: Date.now() - started }, "stopped");
}
