/**
 * What a run measures and for how long. The full plan sweeps 50 to 10,000 clients; --quick keeps the
 * same scenarios with fewer levels and shorter points so it finishes in about a minute.
 */
import type { StackConfig } from "../infra/config/index.ts";

export interface Plan {
  quick: boolean;
  /** Concurrent request loops for before, app-pool-direct and stack. */
  levels: number[];
  /** Simulated app instances (K), each with its own Pool; spread over the load processes. */
  instances: number;
  loadProcesses: number;
  durationMs: number;
  /** The one-client new-connection point (before-serial). */
  serialDurationMs: number;
  drainMs: number;
  errorBackoffMs: number;
  pgbenchClients: number[];
  pgbenchSeconds: number;
  /** HTTP and Redis: loops and instances (the probe's replica count), one level. */
  sideClients: number;
  sideInstances: number;
  sideDurationMs: number;
  /** Where the "at 1,000 clients" targets are read: 1,000, or the largest level below it. */
  referenceLevel: number;
  /** --sweep: the stack scenario's client counts at each swept value, and how long each point lasts. */
  sweepLevels: number[];
  sweepDurationMs: number;
  /** --tls-compare: rounds of its points (each on the TLS stack, then the plaintext one). */
  tlsRounds: number;
  /** From the stack config, as the probe uses them. */
  poolMax: number;
  poolIdleTimeoutMs: number;
  connectionTimeoutMs: number;
  httpMaxSockets: number;
  httpKeepAliveTimeoutMs: number;
  serverKeepAliveTimeoutMs: number;
}

/** K: ten instances × a pool of 20 = 200 connections, the default max_connections: direct pools cannot fit. */
export const INSTANCES = 10;

export function makePlan(quick: boolean, cfg: StackConfig): Plan {
  const levels = quick ? [50, 500] : [50, 500, 1000, 5000, 10_000];
  return {
    quick,
    levels,
    instances: INSTANCES,
    loadProcesses: 2,
    // --quick's 5 s: with TLS, 500 clients each opening a connection per request (a handshake and a SCRAM
    // login each) completed nothing within 2 s on this 2-core machine while other work ran beside it.
    durationMs: quick ? 5000 : 10_000,
    serialDurationMs: quick ? 1000 : 3000,
    drainMs: quick ? 8000 : 20_000,
    errorBackoffMs: 100,
    pgbenchClients: quick ? [16] : [4, 8, 16, 32, 64],
    pgbenchSeconds: quick ? 2 : 5,
    sideClients: 100,
    sideInstances: cfg.probe.replicas,
    sideDurationMs: quick ? 1500 : 8000,
    referenceLevel: Math.max(...levels.filter((l) => l <= 1000)),
    // Below the pool (100 clients, fewer than K × poolMax = 200 pool connections) and far above it.
    sweepLevels: quick ? [100] : [100, 1000],
    sweepDurationMs: quick ? 1500 : 10_000,
    // Two rounds: a slow spell of a shared machine then falls on one side of one round, not on a whole side.
    tlsRounds: quick ? 1 : 2,
    poolMax: cfg.probe.postgresPoolMax,
    poolIdleTimeoutMs: cfg.probe.postgresIdleTimeout,
    connectionTimeoutMs: cfg.probe.postgresConnectionTimeout,
    httpMaxSockets: cfg.probe.httpMaxSockets,
    httpKeepAliveTimeoutMs: cfg.probe.httpKeepAliveTimeout,
    serverKeepAliveTimeoutMs: cfg.probe.serverKeepAliveTimeout,
  };
}

/** max_connections for app-pool-direct: every pool full, plus what PostgreSQL keeps back, plus room. */
export function raisedMaxConnections(plan: Plan, cfg: StackConfig): number {
  return plan.instances * plan.poolMax + cfg.postgres.superuserReservedConnections + cfg.postgres.headroomConnections + 50;
}

/** Points the plan runs, for progress ("[3/24]"); app-pool-direct-default-max may stop early. */
export function plannedPoints(plan: Plan): number {
  return plan.pgbenchClients.length * 2 + 1 + plan.levels.length * 4 + 4;
}
