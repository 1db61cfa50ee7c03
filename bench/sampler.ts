/**
 * Watches the servers while one scenario point runs: PostgreSQL backends (sampled from
 * pg_stat_activity), sessions opened (pg_stat_database.sessions), resident memory of PgBouncer, Redis and
 * the probe, and the CPU each part used — the "where does the time go" of every point.
 */
import pg from "pg";
import { machineTicks, processCpuSeconds, rssKb, treeCpuSeconds, treeSnapshot, CLOCK_TICKS_PER_SECOND, type TreeSnapshot } from "./procfs.ts";

const SAMPLE_EVERY_MS = 200;
const SETTLE_WINDOW_MS = 500;
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

export interface ServerFigures {
  peakBackends: number;
  /** Backends already there when the point began (PgBouncer's idle server connections, the probe's). */
  baselineBackends: number;
  sessionsOpened: number;
  /** Peak resident memory by process name, KiB. */
  peakRssKb: Record<string, number>;
  /** CPU seconds by part: postgres (postmaster and backends), the named pids, and the machine's total busy time. */
  cpuSeconds: Record<string, number>;
  wallSeconds: number;
}

/** One superuser connection per PostgreSQL, opened before the load so it never competes for a slot. */
export class Monitor {
  private readonly client: pg.Client;

  private constructor(readonly watched: Watched) {
    this.client = new pg.Client({ connectionString: watched.superuserUrl, application_name: "pooling-bench-monitor" });
    this.client.on("error", () => undefined);
  }

  static async open(watched: Watched): Promise<Monitor> {
    const m = new Monitor(watched);
    await m.client.connect();
    return m;
  }

  async backends(): Promise<number> {
    const r = await this.client.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  async sessions(): Promise<number> {
    const r = await this.client.query<{ n: string | null }>("SELECT sessions AS n FROM pg_stat_database WHERE datname = $1", [this.watched.database]);
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * Waits until the previous point has let go of PostgreSQL: the backend count holds still and the
   * server is nearly idle. A connection storm (the "before" scenario) leaves logins queued in the
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
      if (now === last && busyCores < QUIET_CORES) return true;
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
  private baselineBackends = 0;
  private readonly peakRss: Record<string, number> = {};
  private startSessions = 0;
  private startTree: TreeSnapshot | undefined;
  private startCpu: Record<string, number> = {};
  private startMachine = machineTicks();
  private startedAt = 0;

  constructor(private readonly monitor: Monitor) {}

  async start(): Promise<void> {
    const w = this.monitor.watched;
    this.startSessions = await this.monitor.sessions();
    this.baselineBackends = await this.monitor.backends();
    this.startTree = treeSnapshot(w.postmasterPid);
    this.startCpu = Object.fromEntries(Object.entries(w.pids).map(([k, pid]) => [k, processCpuSeconds(pid)]));
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
      this.peakBackends = Math.max(this.peakBackends, await this.monitor.backends());
    } catch {
      // A sample lost under load is only a sample.
    } finally {
      this.busy = false;
    }
  }

  /** Ends sampling: CPU is read now (the load has ended); sessions after `flushMs`, when backends have reported them. */
  async stop(flushMs: number): Promise<ServerFigures> {
    clearInterval(this.timer);
    await this.sample();
    const w = this.monitor.watched;
    const wallSeconds = (performance.now() - this.startedAt) / 1000;
    const m = machineTicks();
    const cpuSeconds: Record<string, number> = {
      postgres: this.startTree ? treeCpuSeconds(this.startTree, treeSnapshot(w.postmasterPid)) : 0,
      machineBusy: (m.busy - this.startMachine.busy) / CLOCK_TICKS_PER_SECOND,
    };
    for (const [name, pid] of Object.entries(w.pids)) cpuSeconds[name] = Math.max(0, processCpuSeconds(pid) - (this.startCpu[name] ?? 0));
    // Backends add to pg_stat_database when they go idle, at most once a second; give them that second.
    if (flushMs > 0) await new Promise((r) => setTimeout(r, flushMs));
    const sessionsOpened = Math.max(0, (await this.monitor.sessions()) - this.startSessions);
    return { peakBackends: this.peakBackends, baselineBackends: this.baselineBackends, sessionsOpened, peakRssKb: { ...this.peakRss }, cpuSeconds, wallSeconds };
  }
}
