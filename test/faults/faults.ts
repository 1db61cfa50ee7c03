/**
 * The faults, each applied to a running local stack while the probe is under load. A fault returns
 * when it has been undone (the server is back, the signal continued); the runner then measures recovery.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { formatDuration, type StackConfig } from "../../infra/config/index.ts";
import { childrenOf } from "../../lib/proc.ts";
import { waitFor } from "../../lib/wait.ts";
import { queryOnce } from "../../local/services.ts";
import type { LocalStack } from "../../local/stack.ts";
import { pgPeerCertificate, redisPeerCertificate } from "../tls/helpers.ts";

export interface FaultContext {
  stack: LocalStack;
  stackFile: string;
  say: (m: string) => void;
  /** What the fault measured of the servers themselves, for the report. */
  measured: Measured;
  /** The stack's Prometheus, when it watches the run. */
  prometheusUrl?: string;
}

export interface Measured {
  /** From the signal that stopped PostgreSQL until it accepted connections again. */
  postgresRestartMs?: number;
  /** Transactions the probe tried again after they failed before anything reached the server, by outcome. */
  retries?: { recovered: number; failed: number };
  /** A certificate rotation: the generations, and PgBouncer's server connections made after it (on TLS). */
  rotation?: RotationMeasured;
}

export interface RotationMeasured {
  from: number;
  to: number;
  /** Servers that were restarted by it (none, when it works). */
  restarted: string[];
  /** PgBouncer's server connections once replaced, all opened after the rotation, and how many on TLS. */
  serverConnections: number;
  onTls: number;
}

/**
 * What the stack's Prometheus should show during a fault, with the fault stack's monitoring settings
 * (FAULT_OVERRIDES): an alert only fires once its condition has held for its rule's `for`, so a fault
 * shorter than that must fire nothing, and any alert outside `expect` and `allow` is a false alarm.
 */
export interface FaultAlerts {
  /** Alerts that must fire during the fault (or as their figures catch up with it) and clear after it. */
  expect: string[];
  /** Alerts the fault may raise or not, depending on where the scrapes and evaluations fall in it. */
  allow?: string[];
  /** Why nothing beyond `expect` must fire, from the stack config: the report shows "none (…)". */
  quiet: (cfg: StackConfig) => string;
}

export interface Fault {
  name: string;
  /** Whether the fault takes a dependency away (readiness should notice) or must cause no error at all. */
  outage: boolean;
  alerts: FaultAlerts;
  /** Applies and undoes the fault; resolves when undone, with notes for the report. */
  apply(ctx: FaultContext): Promise<string[]>;
}

/** The faults' waits: state read every 50 ms, 30 s at most. */
const waitUntil = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> => waitFor(what, fn, timeoutMs, 50);

/** The postmaster and every process it forked (backends, checkpointer, ...), from /proc. */
const postgresProcessTree = (postmaster: number): number[] => [postmaster, ...childrenOf(postmaster)];

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  return (await queryOnce(url, sql)).rows as R[];
}

/** probe_pg_retries_total by outcome, from the probe's /metrics. */
async function probeRetries(stack: LocalStack): Promise<{ recovered: number; failed: number }> {
  const text = await (await fetch(`${stack.probe!.url}/metrics`)).text();
  const count = (outcome: string) => Number(new RegExp(`^probe_pg_retries_total\\{outcome="${outcome}"\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);
  return { recovered: count("recovered"), failed: count("failed") };
}

/** Edits one value in the stack file, as a user would, and applies it; the actions the stack took. */
/**
 * Sets `section.key` to `after` in the stack file and applies it. A key the file leaves unset (a derived
 * pool size) is added at the top of its section.
 */
async function editAndApply(stack: LocalStack, stackFile: string, section: string, key: string, before: number, after: number): Promise<{ actions: string[] }> {
  const text = readFileSync(stackFile, "utf8");
  const set = new RegExp(`${key}: ${before}\\b`);
  const header = new RegExp(`^( *)pooling:${section}:\\n`, "m");
  if (!set.test(text) && !header.test(text)) throw new Error(`the stack file has neither ${key}: ${before} nor a pooling:${section} section`);
  writeFileSync(stackFile, set.test(text) ? text.replace(set, `${key}: ${after}`) : text.replace(header, (line, indent: string) => `${line}${indent}  ${key}: ${after}\n`));
  const result = await stack.reloadConfig();
  if (!result.ok) throw new Error(`reload refused: ${result.problems.join("; ")}`);
  return result;
}

/** Servers whose leaf a rotation replaces. */
const TLS_SERVERS = ["postgres", "pgbouncer", "redis"] as const;

/** The serial of the leaf each server shows a new, verifying connection now. */
async function servedSerials(stack: LocalStack): Promise<Record<(typeof TLS_SERVERS)[number], string>> {
  return {
    postgres: (await pgPeerCertificate(stack.postgres.appUrl)).serialNumber,
    pgbouncer: (await pgPeerCertificate(stack.pgbouncer.url)).serialNumber,
    redis: (await redisPeerCertificate(stack.redis.port, stack.tls.caFile)).serialNumber,
  };
}

/** The serial of each server's leaf in the stack's current generation (local/tls.ts: tls/g<N>/<server>.crt). */
function installedSerial(stack: LocalStack, server: (typeof TLS_SERVERS)[number]): string {
  return new X509Certificate(readFileSync(join(stack.dataDir, "tls", `g${stack.tls.generation}`, `${server}.crt`))).serialNumber;
}

/**
 * The app user's server connections in PostgreSQL (PgBouncer's, while the probe runs), how many are on
 * TLS (pg_stat_ssl) and how many were opened after `sinceMs`.
 */
async function serverConnections(stack: LocalStack, sinceMs: number): Promise<{ n: number; tls: number; fresh: number }> {
  const [row] = await query<{ n: string; tls: string; fresh: string }>(
    stack.postgres.url,
    `SELECT count(*) AS n, count(*) FILTER (WHERE s.ssl) AS tls, count(*) FILTER (WHERE a.backend_start >= to_timestamp(${sinceMs} / 1000.0)) AS fresh
       FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
      WHERE a.usename = '${stack.config.postgres.user.replaceAll("'", "''")}' AND a.backend_type = 'client backend'`,
  );
  return { n: Number(row!.n), tls: Number(row!.tls), fresh: Number(row!.fresh) };
}

/** "…, shorter than for: 3s": a fault over before any rule's `for` has passed. */
const shorterThanFor = (what: string) => (cfg: StackConfig) => `${what}, shorter than for: ${formatDuration(cfg.monitoring.for)}`;

export const FAULTS: Fault[] = [
  {
    name: "PgBouncer killed (SIGKILL) and restarted",
    outage: true,
    alerts: { expect: [], quiet: shorterThanFor("PgBouncer is back in well under a second") },
    async apply({ stack, measured }) {
      const pid = stack.pgbouncer.pid;
      const retriesBefore = await probeRetries(stack);
      process.kill(pid, "SIGKILL");
      await waitUntil("a new pgbouncer", () => (stack.pgbouncer.pid > 0 && stack.pgbouncer.pid !== pid ? true : undefined));
      await waitUntil("the probe to answer /probe again", async () => ((await fetch(`${stack.probe!.url}/readyz`)).ok ? true : undefined));
      // A retry may still be waiting for its fresh connection (backoff up to 250 ms): count once the
      // counters have stood still for 500 ms.
      let last = await probeRetries(stack);
      const retries = await waitUntil("the probe's retries to settle", async () => {
        await sleep(500);
        const now = await probeRetries(stack);
        const settled = now.recovered === last.recovered && now.failed === last.failed;
        last = now;
        return settled ? now : undefined;
      });
      const recovered = retries.recovered - retriesBefore.recovered;
      const failed = retries.failed - retriesBefore.failed;
      measured.retries = { recovered, failed };
      return [`pid ${pid} → ${stack.pgbouncer.pid}`, `probe retried ${recovered + failed} transactions that failed before sending anything: ${recovered} succeeded, ${failed} failed again`];
    },
  },
  {
    name: "PostgreSQL fast shutdown and restart",
    outage: true,
    // Down about a second: each rule that sees it goes pending; on a busy machine the restart and the
    // backlog behind it (clients held in PgBouncer meanwhile) may last past `for`.
    alerts: { expect: [], allow: ["PostgresDown", "ProbeNotReady", "PgBouncerClientsWaiting"], quiet: shorterThanFor("PostgreSQL is back in about a second") },
    async apply({ stack, measured }) {
      const pid = stack.postgres.pid;
      const t0 = Date.now();
      // Resolves once PostgreSQL answers a query again (polled every 100 ms, so at most that much late).
      await stack.services.postgres!.restart();
      measured.postgresRestartMs = Date.now() - t0;
      return [`pid ${pid} → ${stack.postgres.pid}`];
    },
  },
  {
    name: "Planned PostgreSQL restart under load (maxConnections edited)",
    outage: false,
    // PostgreSQL restarts behind PgBouncer's PAUSE: its exporter sees it down, and clients wait, about a second.
    alerts: { expect: [], allow: ["PostgresDown", "PgBouncerClientsWaiting"], quiet: shorterThanFor("PostgreSQL restarts and clients wait in PgBouncer about a second") },
    async apply({ stack, stackFile }) {
      const pid = stack.postgres.pid;
      const before = stack.config.postgres.maxConnections;
      const after = before + 10;
      const result = await editAndApply(stack, stackFile, "postgres", "maxConnections", before, after);
      if (stack.postgres.pid === pid) throw new Error(`postgres was not restarted (${result.actions.join(", ")})`);
      const rows = await query<{ max_connections: string }>(stack.postgres.url, "SHOW max_connections");
      if (Number(rows[0]!.max_connections) !== after) throw new Error(`max_connections is ${rows[0]!.max_connections}, expected ${after}`);
      return [`max_connections ${before} → ${after}, pid ${pid} → ${stack.postgres.pid} (${result.actions.join(", ")})`];
    },
  },
  {
    name: "PostgreSQL frozen for 5 s (SIGSTOP / SIGCONT)",
    outage: true,
    // 5 s against for: 3s and a 2 s scrape: whether two scrapes in a row see it (readiness failing after
    // READY_CHECK_TIMEOUT_MS, clients waiting, the exporter's scrape timing out) depends on where they fall.
    alerts: {
      expect: [],
      allow: ["ProbeNotReady", "PgBouncerClientsWaiting", "TargetDown", "PostgresDown"],
      quiet: (cfg) => `frozen 5 s, just past for: ${formatDuration(cfg.monitoring.for)}: fires only if two ${formatDuration(cfg.monitoring.scrapeInterval)} scrapes in a row see it`,
    },
    async apply({ stack }) {
      const pids = postgresProcessTree(stack.postgres.pid);
      // A backend may exit between the /proc scan and the signal; that one needs no freezing.
      const signal = (sig: NodeJS.Signals) => {
        for (const p of pids) {
          try {
            process.kill(p, sig);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
          }
        }
      };
      try {
        signal("SIGSTOP");
        await sleep(5000);
      } finally {
        signal("SIGCONT");
      }
      return [`${pids.length} processes frozen`];
    },
  },
  {
    name: "Redis restarted",
    outage: true,
    alerts: { expect: [], quiet: shorterThanFor("Redis is back in well under a second") },
    async apply({ stack }) {
      const pid = stack.redis.pid;
      await stack.services.redis!.restart();
      return [`pid ${pid} → ${stack.redis.pid}`];
    },
  },
  {
    name: "Pool resize under load (defaultPoolSize reloaded)",
    outage: false,
    alerts: { expect: [], quiet: () => "no limit approached, and the saturation rule follows the new pool size" },
    async apply({ stack, stackFile, prometheusUrl }) {
      const before = stack.config.pgbouncer.defaultPoolSize;
      const after = before + 10;
      const result = await editAndApply(stack, stackFile, "pgbouncer", "defaultPoolSize", before, after);
      const rows = await query<{ name: string; pool_size: number }>(stack.pgbouncer.adminUrl, "SHOW DATABASES");
      const size = rows.find((r) => r.name === stack.config.postgres.database)?.pool_size;
      if (Number(size) !== after) throw new Error(`SHOW DATABASES pool_size is ${size}, expected ${after}`);
      const notes = [`pool_size ${before} → ${size} (${result.actions.join(", ")})`];
      if (prometheusUrl) {
        // The saturation rule is rendered from defaultPoolSize: Prometheus must be evaluating the new one.
        const t0 = Date.now();
        await waitUntil("Prometheus to load the re-rendered saturation rule", async () => {
          const body = (await (await fetch(`${prometheusUrl}/api/v1/rules?type=alert`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; query: string }> }> } };
          const q = body.data.groups.flatMap((g) => g.rules).find((r) => r.name === "PgBouncerPoolSaturated")?.query;
          return q?.endsWith(`>= ${after}`) ? true : undefined;
        });
        notes.push(`Prometheus evaluates PgBouncerPoolSaturated at \`>= ${after}\` ${Date.now() - t0} ms after the reload`);
      }
      return notes;
    },
  },
  {
    name: "Clients beyond maxClientConn",
    outage: false,
    // Past limitShare of maxClientConn, but only while the extra clients connect and run one query.
    alerts: { expect: [], allow: ["PgBouncerClientConnectionsHigh"], quiet: shorterThanFor("the extra clients are held a second or two") },
    async apply({ stack }) {
      const max = stack.config.pgbouncer.maxClientConn;
      const clients: pg.Client[] = [];
      const refused: string[] = [];
      try {
        // Try 10 more than the limit, on top of the probe's own connections.
        await Promise.all(
          Array.from({ length: max + 10 }, async () => {
            const c = new pg.Client({ connectionString: stack.pgbouncer.url, connectionTimeoutMillis: 10_000 });
            c.on("error", () => undefined);
            try {
              await c.connect();
              clients.push(c);
            } catch (err) {
              refused.push((err as Error).message);
            }
          }),
        );
        const clear = refused.filter((m) => /no more connections allowed \(max_client_conn\)/.test(m));
        if (clear.length === 0 || clear.length !== refused.length) throw new Error(`expected clear max_client_conn refusals, got: ${[...new Set(refused)].join("; ")}`);
        // The admitted extra clients still work.
        const sample = clients.slice(0, 20);
        await Promise.all(sample.map((c) => c.query("SELECT 1")));
        return [`${clients.length} admitted, ${refused.length} refused: "${clear[0]}"`];
      } finally {
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      }
    },
  },
  {
    name: "Certificate rotation under load",
    outage: false,
    alerts: { expect: [], quiet: () => "no server stops or restarts: each loads the new files in place" },
    async apply({ stack, measured }) {
      if (!stack.tls.enabled) throw new Error("the fault stack runs with pooling:tls.enabled false: there is no certificate to rotate");
      const before = await servedSerials(stack);
      const pids = { postgres: stack.postgres.pid, pgbouncer: stack.pgbouncer.pid, redis: stack.redis.pid };
      const generation = stack.tls.generation;
      const rotatedAt = Date.now();
      // Every leaf at once (PostgreSQL, PgBouncer, Redis and the client pair), as the renewal timer does.
      const result = await stack.rotateCertificates();
      const after = await servedSerials(stack);
      const stale = TLS_SERVERS.filter((s) => after[s] === before[s] || after[s] !== installedSerial(stack, s));
      if (stale.length > 0) throw new Error(`after rotating to generation ${result.generation}, a new connection still gets the old leaf from ${stale.join(", ")}`);
      const restarted = TLS_SERVERS.filter((s) => stack[s].pid !== pids[s]);
      // PgBouncer's server connections keep the sessions they made with the old leaf. Replace each under
      // the load, so PgBouncer makes new verify-full sessions against PostgreSQL's new leaf: RECONNECT
      // closes each server connection once released, WAIT_CLOSE returns when all are closed (pgbouncer(1)
      // of the installed 1.18, "Process controlling commands").
      await query(stack.pgbouncer.adminUrl, "RECONNECT");
      await query(stack.pgbouncer.adminUrl, "WAIT_CLOSE");
      // The closed backends may take a moment to leave pg_stat_activity.
      const conns = await waitUntil("only server connections opened after the rotation", async () => {
        const c = await serverConnections(stack, rotatedAt);
        return c.n > 0 && c.fresh === c.n ? c : undefined;
      });
      measured.rotation = { from: generation, to: result.generation, restarted, serverConnections: conns.n, onTls: conns.tls };
      return [
        `generation ${generation} → ${result.generation}: ${result.actions.join(", ")}; ${restarted.length === 0 ? "no server restarted" : `restarted: ${restarted.join(", ")}`}`,
        `a new connection gets the new leaf from ${TLS_SERVERS.join(", ")}`,
        `PgBouncer's server connections replaced under the load (RECONNECT, WAIT_CLOSE): all ${conns.n} opened after the rotation, ${conns.tls} of them on TLS`,
      ];
    },
  },
  {
    name: "Query longer than statementTimeout",
    outage: false,
    alerts: { expect: [], quiet: () => "one client in one slow query approaches no threshold" },
    async apply({ stack }) {
      const limitMs = stack.config.postgres.statementTimeout;
      const pool = new pg.Pool({ connectionString: stack.pgbouncer.url, max: 1 });
      try {
        const err = await pool.query(`SELECT pg_sleep(${(limitMs + 2000) / 1000})`).then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        );
        if (err?.code !== "57014") throw new Error(`expected a statement_timeout cancel (57014), got ${err?.message ?? "success"}`);
        await pool.query("SELECT 1");
        if (pool.totalCount !== 1) throw new Error(`the pool holds ${pool.totalCount} connections after the cancel`);
        const sleeping = await waitUntil("the cancelled backend to be idle", async () => {
          const rows = await query<{ n: string }>(stack.postgres.url, "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'");
          return Number(rows[0]!.n) === 0 ? 0 : undefined;
        });
        return [`cancelled by PostgreSQL: "${err.message}"; connection reused; ${sleeping} backends still sleeping`];
      } finally {
        await pool.end();
      }
    },
  },
];
