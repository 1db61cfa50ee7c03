/** How each server of the local stack is started and how we know it answers. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import type { ClientTls } from "../infra/render/urls.ts";
import pg from "pg";
import { until, type ServiceSpec } from "./supervisor.ts";
import type { Binaries } from "./binaries.ts";
import type { Layout } from "./files.ts";
import type { RunAs } from "./system.ts";
import { FILES } from "../infra/render/names.ts";

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

/** ioredis' `tls` options: the CA (and the client pair) read now, so a renewed client pair is picked up. */
export function redisTlsOptions(tls: ClientTls | undefined): { tls?: { ca: string; cert?: string; key?: string } } {
  if (!tls) return {};
  const pair = tls.certFile && tls.keyFile ? { cert: readFileSync(tls.certFile, "utf8"), key: readFileSync(tls.keyFile, "utf8") } : {};
  return { tls: { ca: readFileSync(tls.caFile, "utf8"), ...pair } };
}

/** Connects, runs one command, disconnects; throws when the server does not answer. */
export async function redisOnce(url: string, tls: ClientTls | undefined, command: string, ...args: string[]): Promise<unknown> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, ...redisTlsOptions(tls) });
  r.on("error", () => undefined);
  try {
    await r.connect();
    return await r.call(command, ...args);
  } finally {
    r.disconnect();
  }
}

export async function redisPing(url: string, tls?: ClientTls): Promise<void> {
  await redisOnce(url, tls, "PING");
}

const asUser = (u: RunAs | undefined) => (u ? { uid: u.uid, gid: u.gid } : {});
// Servers get a minimal environment: nothing of the caller's (tokens, passwords) leaks into them.
const serverEnv = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" });

export function postgresSpec(bins: Binaries, l: Layout, user: RunAs | undefined, superuserUrl: string): ServiceSpec {
  return {
    name: "postgres",
    command: join(bins.postgresBin, "postgres"),
    args: ["-D", l.pgData, "-c", `config_file=${join(l.confDir, FILES.postgresqlConf)}`],
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
    args: [join(l.confDir, FILES.pgbouncerIni)],
    env: serverEnv(),
    ...asUser(user),
    ready: (signal) => until(signal, () => queryOnce(statsUrl, "SHOW VERSION"), 100),
    // SIGINT: PgBouncer's safe shutdown, letting in-flight transactions finish.
    stopSignal: "SIGINT",
    stopTimeoutMs: 10_000,
    logFile: join(l.logDir, "pgbouncer.log"),
  };
}

export function redisSpec(bins: Binaries, l: Layout, url: string, tls: () => ClientTls | undefined): ServiceSpec {
  return {
    name: "redis",
    command: bins.redisServer,
    args: [join(l.confDir, FILES.redisConf)],
    env: serverEnv(),
    ready: (signal) => until(signal, () => redisPing(url, tls()), 100),
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
