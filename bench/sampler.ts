/**
 * Watches the servers while one scenario point runs: PostgreSQL backends (sampled from
 * pg_stat_activity), sessions opened (pg_stat_database.sessions), resident memory of PgBouncer, Redis and
 * the probe, and the CPU each part used — the "where does the time go" of every point.
 */
import pg from "pg";
import { classifyProcesses, type ProcessUse } from "./attribution.ts";
import { machineTicks, processCpuSeconds, processTable, rssKb, treeCpuSeconds, treeSnapshot, CLOCK_TICKS_PER_SECOND, type ProcessTable, type TreeSnapshot } from "./procfs.ts";

// Often enough that the mean of busy backends (a few hundred µs each per statement) settles within a point.
export const SAMPLE_EVERY_MS = 50;
const SETTLE_WINDOW_MS = 500;
/** Logins in flight that still count as settled: a pooler or the probe may be opening a connection. */
const UNLISTED_SLACK = 2;
/** PostgreSQL counts as idle below this many cores busy (the monitor's own queries cost a little). */
const QUIET_CORES = 0.1;

export interface Watched {
  /** Superuser URL of the PostgreSQL whose backends are counted. */
  superuserUrl: string;
  database: string;
  postmasterPid: number;
  /** Other server processes whose memory and CPU are reported, by name. */
  pids: Record<string, number>;
}

/** What pg_stat_database counted for the database over a point: transactions and rows read. */
export interface DatabaseCounts {
  xacts: number;
  tupReturned: number;
  tupFetched: number;
}

export interface ServerFigures {
  peakBackends: number;
  /** Client backends running a statement (`state = 'active'`), over the samples: the most and the mean. */
  busyBackends: { peak: number; mean: number };
  /** Backends already there when the point began (PgBouncer's idle server connections, the probe's). */
  baselineBackends: number;
  sessionsOpened: number;
  /** pg_stat_database deltas over the point (the monitor's own queries run in another database). */
  database: DatabaseCounts;
  /** Peak resident memory by process name, KiB. */
  peakRssKb: Record<string, number>;
  /**
   * CPU seconds by part: postgres (postmaster and backends), the named pids, the bench's own process,
   * the ksoftirqd threads (softirqThreads), every other process (otherProcesses), the machine's total
   * busy time and its idle time (all CPUs), and machineSoftirq: /proc/stat's irq + softirq time, which
   * with tick accounting is also inside the processes' figures (attribution.ts), so it is shown, not
   * subtracted.
   */
  cpuSeconds: Record<string, number>;
  /** The largest users of otherProcesses, by command name. */
  topOtherProcesses: ProcessUse[];
  wallSeconds: number;
}

/** One superuser connection per PostgreSQL, opened before the load so it never competes for a slot. */
export class Monitor {
  private readonly client: pg.Client;

  /** Children of the postmaster that pg_stat_activity does not list, when the server is idle (see `settle`). */
  private unlistedAtRest = 0;

  private constructor(readonly watched: Watched) {
    this.client = new pg.Client({ connectionString: watched.superuserUrl, application_name: "pooling-bench-monitor" });
    this.client.on("error", () => undefined);
  }

  static async open(watched: Watched): Promise<Monitor> {
    const m = new Monitor(watched);
    await m.client.connect();
    m.unlistedAtRest = await m.unlistedChildren();
    return m;
  }

  /**
   * Postmaster children pg_stat_activity does not list: a backend forked for a connection that has not
   * finished logging in is not there yet. After a storm these wait on clients long gone (their
   * connections still come out of the kernel's queue, with TCP's retry back-off), work in bursts seconds
   * apart and then exit; the server's CPU alone looks quiet between the bursts.
   */
  private async unlistedChildren(tree = treeSnapshot(this.watched.postmasterPid)): Promise<number> {
    const children = tree.live.size;
    const r = await this.client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity");
    return children - Number(r.rows[0]?.n ?? 0);
  }

  async backends(): Promise<number> {
    return (await this.activity()).all;
  }

  /** Client backends other than the monitor's own: all of them, and those running a statement now. */
  async activity(): Promise<{ all: number; busy: number }> {
    const r = await this.client.query<{ n: string; busy: string }>(
      "SELECT count(*) AS n, count(*) FILTER (WHERE state = 'active') AS busy FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    );
    return { all: Number(r.rows[0]?.n ?? 0), busy: Number(r.rows[0]?.busy ?? 0) };
  }

  async sessions(): Promise<number> {
    return (await this.databaseStats()).sessions;
  }

  /** The database's cumulative counters; backends add to them when idle, at most once a second. */
  async databaseStats(): Promise<DatabaseCounts & { sessions: number }> {
    const r = await this.client.query<Record<"sessions" | "xacts" | "tup_returned" | "tup_fetched", string | null>>(
      "SELECT sessions, xact_commit + xact_rollback AS xacts, tup_returned, tup_fetched FROM pg_stat_database WHERE datname = $1",
      [this.watched.database],
    );
    const row = r.rows[0];
    return { sessions: Number(row?.sessions ?? 0), xacts: Number(row?.xacts ?? 0), tupReturned: Number(row?.tup_returned ?? 0), tupFetched: Number(row?.tup_fetched ?? 0) };
  }

  /**
   * Waits until the previous point has let go of PostgreSQL: the backend count holds still, the server
   * is nearly idle, and no half-logged-in backend is left (`unlistedChildren`). A connection storm (the "before" scenario) leaves logins queued in the
   * postmaster after its clients gave up; without this they would burn the next point's CPU.
   */
  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let last = await this.backends();
    let tree = treeSnapshot(this.watched.postmasterPid);
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, SETTLE_WINDOW_MS));
      const now = await this.backends();
      const next = treeSnapshot(this.watched.postmasterPid);
      const busyCores = treeCpuSeconds(tree, next) / (SETTLE_WINDOW_MS / 1000);
      if (now === last && busyCores < QUIET_CORES && (await this.unlistedChildren(next)) <= this.unlistedAtRest + UNLISTED_SLACK) return true;
      last = now;
      tree = next;
    }
    return false;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

export class Sampler {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private peakBackends = 0;
  private peakBusy = 0;
  private busySum = 0;
  private busySamples = 0;
  private baselineBackends = 0;
  private readonly peakRss: Record<string, number> = {};
  private startStats: DatabaseCounts & { sessions: number } = { sessions: 0, xacts: 0, tupReturned: 0, tupFetched: 0 };
  private startTree: TreeSnapshot | undefined;
  private startCpu: Record<string, number> = {};
  private startMachine = machineTicks();
  private startProcesses: ProcessTable = new Map();
  private startedAt = 0;

  constructor(private readonly monitor: Monitor) {}

  async start(): Promise<void> {
    const w = this.monitor.watched;
    this.startStats = await this.monitor.databaseStats();
    this.baselineBackends = await this.monitor.backends();
    this.startTree = treeSnapshot(w.postmasterPid);
    this.startCpu = Object.fromEntries(Object.entries(w.pids).map(([k, pid]) => [k, processCpuSeconds(pid)]));
    this.startProcesses = processTable();
    this.startMachine = machineTicks();
    this.startedAt = performance.now();
    this.timer = setInterval(() => void this.sample(), SAMPLE_EVERY_MS);
  }

  private async sample(): Promise<void> {
    for (const [name, pid] of Object.entries(this.monitor.watched.pids)) {
      this.peakRss[name] = Math.max(this.peakRss[name] ?? 0, rssKb(pid));
    }
    // A slow answer under load must not pile up queries on the monitor connection.
    if (this.busy) return;
    this.busy = true;
    try {
      const a = await this.monitor.activity();
      this.peakBackends = Math.max(this.peakBackends, a.all);
      this.peakBusy = Math.max(this.peakBusy, a.busy);
      this.busySum += a.busy;
      this.busySamples++;
    } catch {
      // A sample lost under load is only a sample.
    } finally {
      this.busy = false;
    }
  }

  /**
   * Ends sampling: CPU is read now (the load has ended); pg_stat_database after `flushMs`, when backends
   * have reported to it. With `pooler` (the URL of the PgBouncer the load went through), its server
   * connections are made to report too: see `flushPooledBackends`.
   */
  async stop(flushMs: number, pooler?: string): Promise<ServerFigures> {
    clearInterval(this.timer);
    await this.sample();
    const w = this.monitor.watched;
    const wallSeconds = (performance.now() - this.startedAt) / 1000;
    const m = machineTicks();
    const processes = processTable();
    const tree = treeSnapshot(w.postmasterPid);
    const named = new Set([w.postmasterPid, ...tree.live.keys(), ...Object.values(w.pids)]);
    const other = classifyProcesses(this.startProcesses, processes, process.pid, (pid) => named.has(pid));
    const cpuSeconds: Record<string, number> = {
      postgres: this.startTree ? treeCpuSeconds(this.startTree, tree) : 0,
      bench: other.bench,
      softirqThreads: other.softirqThreads,
      otherProcesses: other.otherProcesses,
      machineBusy: (m.busy - this.startMachine.busy) / CLOCK_TICKS_PER_SECOND,
      machineIdle: (m.total - m.busy - (this.startMachine.total - this.startMachine.busy)) / CLOCK_TICKS_PER_SECOND,
      machineSoftirq: (m.irq - this.startMachine.irq) / CLOCK_TICKS_PER_SECOND,
    };
    for (const [name, pid] of Object.entries(w.pids)) cpuSeconds[name] = Math.max(0, processCpuSeconds(pid) - (this.startCpu[name] ?? 0));
    // Backends add to pg_stat_database when they go idle, at most once a second; give them that second.
    if (flushMs > 0) await new Promise((r) => setTimeout(r, flushMs));
    const pokes = pooler ? await flushPooledBackends(pooler, await this.monitor.backends()) : 0;
    const end = await this.monitor.databaseStats();
    const delta = (k: keyof typeof end) => Math.max(0, end[k] - this.startStats[k]);
    end.xacts -= pokes;
    return {
      peakBackends: this.peakBackends,
      busyBackends: { peak: this.peakBusy, mean: this.busySamples > 0 ? this.busySum / this.busySamples : 0 },
      baselineBackends: this.baselineBackends,
      sessionsOpened: delta("sessions"),
      database: { xacts: delta("xacts"), tupReturned: delta("tupReturned"), tupFetched: delta("tupFetched") },
      peakRssKb: { ...this.peakRss },
      cpuSeconds,
      topOtherProcesses: other.top,
      wallSeconds,
    };
  }
}

/**
 * A backend reports its counters when it goes idle, but no sooner than a second after its last report
 * (PGSTAT_MIN_INTERVAL); one that is then left idle reports only after PGSTAT_IDLE_INTERVAL, 10 s
 * (PostgreSQL 15+: src/backend/utils/activity/pgstat.c, and PostgresMain in tcop/postgres.c, which
 * reports before it sends ReadyForQuery).
 * PgBouncer's server connections outlive the load, so the load's last second would be missing from
 * pg_stat_database. A second after the load, `count` concurrent transactions through PgBouncer take
 * every idle server connection once, and each backend reports as it goes idle, before it answers.
 * Returns the transactions it ran, to be taken off the count.
 */
export async function flushPooledBackends(poolerUrl: string, count: number): Promise<number> {
  const one = async () => {
    const c = new pg.Client({ connectionString: poolerUrl, application_name: "pooling-bench-flush" });
    c.on("error", () => undefined);
    try {
      await c.connect();
      // Long enough that all of them hold a server connection at the same time.
      await c.query("SELECT pg_sleep(0.1)");
      return 1;
    } catch {
      return 0;
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  const done = await Promise.all(Array.from({ length: count }, one));
  return done.reduce<number>((a, b) => a + b, 0);
}
