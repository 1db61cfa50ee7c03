/** How each server of the local stack is started and how we know it answers. */
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { until, type ServiceSpec } from "./supervisor.ts";
import type { Binaries } from "./binaries.ts";
import type { Layout } from "./files.ts";
import type { RunAs } from "./system.ts";

/** Connects, runs one statement, disconnects; throws when the server does not answer. */
export async function queryOnce(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function redisPing(url: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  r.on("error", () => undefined);
  try {
    await r.connect();
    await r.ping();
  } finally {
    r.disconnect();
  }
}

const asUser = (u: RunAs | undefined) => (u ? { uid: u.uid, gid: u.gid } : {});
// Servers get a minimal environment: nothing of the caller's (tokens, passwords) leaks into them.
const serverEnv = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" });

export function postgresSpec(bins: Binaries, l: Layout, user: RunAs | undefined, superuserUrl: string): ServiceSpec {
  return {
    name: "postgres",
    command: join(bins.postgresBin, "postgres"),
    args: ["-D", l.pgData, "-c", `config_file=${join(l.confDir, "postgresql.conf")}`],
    env: serverEnv(),
    ...asUser(user),
    ready: (signal) => until(signal, () => queryOnce(superuserUrl, "SELECT 1"), 100),
    readyTimeoutMs: 60_000,
    // SIGINT is PostgreSQL's fast shutdown: roll back open transactions and stop cleanly.
    stopSignal: "SIGINT",
    stopTimeoutMs: 30_000,
    logFile: join(l.logDir, "postgres.log"),
  };
}

export function pgbouncerSpec(bins: Binaries, l: Layout, user: RunAs | undefined, statsUrl: string): ServiceSpec {
  return {
    name: "pgbouncer",
    command: bins.pgbouncer,
    args: [join(l.confDir, "pgbouncer.ini")],
    env: serverEnv(),
    ...asUser(user),
    ready: (signal) => until(signal, () => queryOnce(statsUrl, "SHOW VERSION"), 100),
    // SIGINT: PgBouncer's safe shutdown, letting in-flight transactions finish.
    stopSignal: "SIGINT",
    stopTimeoutMs: 10_000,
    logFile: join(l.logDir, "pgbouncer.log"),
  };
}

export function redisSpec(bins: Binaries, l: Layout, url: string): ServiceSpec {
  return {
    name: "redis",
    command: bins.redisServer,
    args: [join(l.confDir, "redis.conf")],
    env: serverEnv(),
    ready: (signal) => until(signal, () => redisPing(url), 100),
    stopSignal: "SIGTERM",
    stopTimeoutMs: 10_000,
    logFile: join(l.logDir, "redis.log"),
  };
}

export interface ProbeState {
  url?: string;
}

export function probeSpec(projectDir: string, l: Layout, env: Record<string, string>, state: ProbeState): ServiceSpec {
  return {
    name: "probe",
    command: process.execPath,
    args: ["--import", "tsx", join(projectDir, "app-probe", "src", "main.ts")],
    cwd: projectDir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: "production", ...env },
    ready: (signal) =>
      until(signal, async () => {
        if (!state.url) throw new Error("not listening yet");
        const res = await fetch(`${state.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (!res.ok) throw new Error(`healthz ${res.status}`);
      }),
    onLine: (line) => {
      if (!line.includes('"listening"')) return;
      try {
        const rec = JSON.parse(line) as { url?: string };
        if (rec.url) state.url = rec.url;
      } catch {
        // not a JSON log line
      }
    },
    stopSignal: "SIGTERM",
    stopTimeoutMs: 15_000,
    logFile: join(l.logDir, "probe.log"),
  };
}
