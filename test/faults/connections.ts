/**
 * Many client connections held open through PgBouncer at once, each querying in a loop, while the probe
 * serves steady load. Counts errors and samples PgBouncer's and the probe's memory. Bounded in time.
 */
import { readFileSync } from "node:fs";
import { readDbError } from "../../lib/sqlstate.ts";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { pgbouncerMemoryNeeded } from "../../infra/config/index.ts";
import { formatSize } from "../../infra/config/units.ts";
import type { LocalStack } from "../../local/stack.ts";
import { ProbeLoad } from "./load.ts";

export interface ConnectionLoadResult {
  clients: number;
  connected: number;
  connectSeconds: number;
  holdSeconds: number;
  queries: number;
  errors: number;
  errorKinds: Record<string, number>;
  peakServerConnections: number;
  /** PgBouncer's resident memory before the clients connected, and its peak while they were held. */
  pgbouncerStartRssMiB: number;
  pgbouncerPeakRssMiB: number;
  /** pooling:pgbouncer.memory of the stack held against: what Kubernetes would kill PgBouncer at. */
  pgbouncerLimitMiB?: number;
  probePeakRssMiB: number;
  probeRequests: number;
  probeErrors: number;
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The stack settings a hold of `clients` connections needs: room for them in maxClientConn (plus the
 * probe's pools) and the PgBouncer memory the config's rule asks for that many (with TLS, as the dev
 * stack has it), so the run is refused by nothing and measured against the limit Kubernetes would set.
 */
export function connectionHoldOverrides(clients: number): { pgbouncer: { maxClientConn: number; memory: string } } {
  const maxClientConn = clients + 200;
  const need = pgbouncerMemoryNeeded({ pgbouncer: { maxClientConn }, tls: { enabled: true } });
  return { pgbouncer: { maxClientConn, memory: formatSize(Math.max(128 * 2 ** 20, Math.ceil(need / 2 ** 20) * 2 ** 20)) } };
}

export async function holdConnections(stack: LocalStack, opts: { clients: number; holdMs: number; say: (m: string) => void }): Promise<ConnectionLoadResult> {
  const { clients: n, holdMs, say } = opts;
  const errorKinds: Record<string, number> = {};
  const fail = (err: unknown) => {
    const kind = readDbError(err).reason;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };
  const clients: pg.Client[] = [];
  const pgbouncerStart = rssMiB(stack.pgbouncer.pid);
  let peak = { pgbouncer: 0, probe: 0, servers: 0 };
  const sampler = setInterval(() => {
    peak = {
      ...peak,
      pgbouncer: Math.max(peak.pgbouncer, rssMiB(stack.pgbouncer.pid)),
      probe: Math.max(peak.probe, stack.probe ? rssMiB(stack.probe.pid) : 0),
    };
  }, 250);
  const probeLoad = stack.probe ? new ProbeLoad(stack.probe.url, 8, `conn-${Date.now()}`).start() : undefined;
  const t0 = Date.now();
  let queries = 0;
  let stop = false;
  try {
    // Logins in batches: each is a SCRAM exchange, and a login storm would only measure that.
    for (let i = 0; i < n; i += 250) {
      await Promise.all(
        Array.from({ length: Math.min(250, n - i) }, async () => {
          const c = new pg.Client({ connectionString: stack.pgbouncer.url, connectionTimeoutMillis: 60_000 });
          c.on("error", fail);
          try {
            await c.connect();
            clients.push(c);
          } catch (err) {
            fail(err);
          }
        }),
      );
      if ((i / 250) % 8 === 7) say(`  ${clients.length} of ${n} clients connected`);
    }
    const connectSeconds = (Date.now() - t0) / 1000;
    say(`  ${clients.length} clients connected in ${connectSeconds.toFixed(1)} s; holding for ${holdMs / 1000} s`);
    const t1 = Date.now();
    const servers = setInterval(() => {
      serverConnections(stack).then((s) => (peak = { ...peak, servers: Math.max(peak.servers, s) }), () => undefined);
    }, 1000);
    await Promise.all(
      clients.map(async (c, i) => {
        // Spread the first queries so the clients do not move in lockstep.
        await sleep(i % 100);
        while (!stop) {
          try {
            await c.query("SELECT 1");
            queries++;
          } catch (err) {
            fail(err);
          }
          await sleep(100);
        }
      }).concat([sleep(holdMs).then(() => void (stop = true))]),
    );
    clearInterval(servers);
    const probe = probeLoad ? probeLoad.countSince(t1) : { requests: 0, errors: 0 };
    return {
      clients: n,
      connected: clients.length,
      connectSeconds,
      holdSeconds: (Date.now() - t1) / 1000,
      queries,
      errors: Object.values(errorKinds).reduce((a, b) => a + b, 0),
      errorKinds,
      peakServerConnections: peak.servers,
      pgbouncerStartRssMiB: Math.round(pgbouncerStart * 10) / 10,
      pgbouncerPeakRssMiB: Math.round(peak.pgbouncer * 10) / 10,
      pgbouncerLimitMiB: stack.config.pgbouncer.memory / 2 ** 20,
      probePeakRssMiB: Math.round(peak.probe * 10) / 10,
      probeRequests: probe.requests,
      probeErrors: probe.errors,
    };
  } finally {
    stop = true;
    clearInterval(sampler);
    await probeLoad?.stop();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

async function serverConnections(stack: LocalStack): Promise<number> {
  const c = new pg.Client({ connectionString: stack.postgres.url });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1", [stack.config.postgres.user]);
    return Number(rows[0]!.n);
  } finally {
    await c.end();
  }
}
