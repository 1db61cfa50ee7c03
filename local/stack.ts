/**
 * The local stack: the files the cluster would get, run by the real postgres, pgbouncer and
 * redis-server (and the probe app) on free loopback ports. Not a second implementation: the same config
 * loader and the same renderers as infra/k8s.
 */
import { readFileSync, rmSync, unwatchFile, watchFile, type StatsListener } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadStackFile, rawFromStackYaml, resolveStackFile, stackNameOf } from "../infra/config/file.ts";
import { checkStackConfig, formatProblem, type StackConfig } from "../infra/config/index.ts";
import { mergeRaw } from "../infra/config/overrides.ts";
import { probeEnvironment, renderAll, SECRET_FILES, type RenderedFiles, type Runtime, type StackSecrets } from "../infra/render/index.ts";
import { postgresUrl, redisUrl } from "../infra/render/urls.ts";
import { findBinaries, installedVersions, type Binaries } from "./binaries.ts";
import { layoutOf, makeDirs, writeAtomic, type Layout } from "./files.ts";
import { bootstrapApp, initdb } from "./postgres-init.ts";
import { processRef, reclaimDataDir, removeRunFile, writeRunFile, type RunFile } from "./leftovers.ts";
import { planReload } from "./reload.ts";
import { loadOrCreateSecrets } from "./secrets.ts";
import { pgbouncerSpec, postgresSpec, probeSpec, queryOnce, redisSpec, type ProbeState } from "./services.ts";
import { Service, type Log } from "./supervisor.ts";
import { choosePorts, logSizesOf, portWasTaken } from "./ports.ts";
import { serverUser, type RunAs } from "./system.ts";

export const PROJECT_DIR = fileURLToPath(new URL("..", import.meta.url));

export interface LocalStackOptions {
  /** A stack file; default Pulumi.<stack>.yaml in the project. */
  configFile?: string;
  stack?: string;
  /** Raw `pooling:` values merged over the stack file's (tests use this for small pools). */
  overrides?: Record<string, unknown>;
  /** Default `.local/<stack>` in the project (git-ignored). */
  dataDir?: string;
  /** Delete the data folder first. */
  fresh?: boolean;
  /** Also start the probe app against the stack. */
  probe?: boolean;
  /** Re-validate and apply the stack file when it changes. */
  watch?: boolean;
  /**
   * Every server on a fresh free port instead of the stack file's ports: for tests and several stacks
   * side by side. Without it the stack file's ports are used, a taken one moved (and said so).
   */
  freePorts?: boolean;
  /** Install missing binaries with apt when root on Debian/Ubuntu (default true). */
  installMissing?: boolean;
  log?: Log;
}

export interface LocalStack {
  stack: string;
  config: StackConfig;
  versions: { postgres: string; pgbouncer: string; redis: string };
  postgres: { url: string; appUrl: string; pid: number; port: number };
  pgbouncer: { url: string; adminUrl: string; statsUrl: string; pid: number; port: number };
  redis: { url: string; pid: number; port: number };
  probe?: { url: string; pid: number; port: number };
  dataDir: string;
  services: Record<ServiceName, Service | undefined>;
  /** Re-reads the stack file and applies what changed; invalid config keeps the old one running. */
  reloadConfig(): Promise<ReloadResult>;
  stop(): Promise<void>;
}

export type ServiceName = "postgres" | "pgbouncer" | "redis" | "probe";
export type ReloadResult = { ok: false; problems: string[] } | { ok: true; actions: string[] };

const url = (user: string, password: string, port: number, db: string) => postgresUrl(user, password, "127.0.0.1", port, db);

class Stack {
  readonly services = {} as Record<ServiceName, Service | undefined>;
  private files!: RenderedFiles;
  private readonly probeState: ProbeState = {};
  private reloading: Promise<unknown> = Promise.resolve();
  private watcher: StatsListener | undefined;
  private stopped = false;

  constructor(
    readonly stackName: string,
    readonly configFile: string,
    public config: StackConfig,
    private readonly opts: LocalStackOptions,
    readonly bins: Binaries,
    readonly layout: Layout,
    readonly user: RunAs | undefined,
    readonly secrets: StackSecrets,
    readonly runtime: Runtime,
    private readonly probePort: number,
    private readonly say: Log,
  ) {}

  get urls() {
    const { config: c, secrets: s, runtime: rt } = this;
    return {
      superuser: url("postgres", s.superuser.password, rt.postgres.port, "postgres"),
      appDirect: url(c.postgres.user, s.app.password, rt.postgres.port, c.postgres.database),
      pooled: url(c.postgres.user, s.app.password, rt.pgbouncer.listenPort!, c.postgres.database),
      admin: url(c.pgbouncer.adminUser, s.pgbouncerAdmin.password, rt.pgbouncer.listenPort!, "pgbouncer"),
      stats: url(c.pgbouncer.statsUser, s.pgbouncerStats.password, rt.pgbouncer.listenPort!, "pgbouncer"),
      redis: redisUrl(s.redisPassword, "127.0.0.1", rt.redis.port!),
    };
  }

  /** Every rendered file into conf/; PostgreSQL's and PgBouncer's belong to the user that runs them. */
  private writeFiles(files: RenderedFiles): void {
    const serverOwned = new Set(["postgresql.conf", "pg_hba.conf", "pgbouncer.ini", "pgbouncer_hba.conf", "userlist.txt"]);
    for (const [name, text] of Object.entries(files)) {
      writeAtomic(join(this.layout.confDir, name), text, {
        owner: serverOwned.has(name) ? this.user : undefined,
        secret: (SECRET_FILES as readonly string[]).includes(name),
      });
    }
    this.files = files;
  }

  private service(name: ServiceName): Service {
    const u = this.urls;
    const l = this.layout;
    const spec =
      name === "postgres"
        ? postgresSpec(this.bins, l, this.user, u.superuser)
        : name === "pgbouncer"
          ? pgbouncerSpec(this.bins, l, this.user, u.stats)
          : name === "redis"
            ? redisSpec(this.bins, l, u.redis)
            : probeSpec(PROJECT_DIR, l, this.probeEnv(), this.probeState);
    const svc = new Service({ ...spec, onSpawn: () => this.recordRun() }, (m) => this.say(m));
    this.services[name] = svc;
    return svc;
  }

  /** What runs on the data folder, so a later start can stop what a killed run left behind. */
  private recordRun(): void {
    const services: RunFile["services"] = {};
    for (const [name, svc] of Object.entries(this.services)) {
      const ref = svc?.pid === undefined ? undefined : processRef(svc.pid);
      if (svc && ref) services[name] = { ...ref, stopSignal: svc.stopSignal };
    }
    const cli = processRef(process.pid);
    if (cli) writeRunFile(this.layout, { cli, services });
  }

  private probeEnv(): Record<string, string> {
    const u = this.urls;
    return probeEnvironment(this.config, {
      databaseUrl: u.pooled,
      directDatabaseUrl: u.appDirect,
      pgbouncerStatsUrl: u.stats,
      redisUrl: u.redis,
      host: "127.0.0.1",
      port: this.probePort,
    });
  }

  async start(): Promise<void> {
    makeDirs(this.layout, this.user);
    this.writeFiles(renderAll(this.config, this.secrets, this.runtime));
    initdb(this.bins.postgresBin, this.layout, this.secrets, this.user, this.say);
    this.say(`postgres ${this.bins.postgresVersion}: starting on 127.0.0.1:${this.runtime.postgres.port}`);
    await this.service("postgres").start();
    await bootstrapApp(this.urls.superuser, this.config, this.secrets);
    this.say(`pgbouncer ${this.bins.pgbouncerVersion}: starting on 127.0.0.1:${this.runtime.pgbouncer.listenPort}`);
    this.say(`redis ${this.bins.redisVersion}: starting on 127.0.0.1:${this.runtime.redis.port}`);
    await Promise.all([this.service("pgbouncer").start(), this.service("redis").start()]);
    if (this.opts.probe) {
      this.say("probe: starting");
      await this.service("probe").start();
    }
    if (this.opts.watch) {
      this.watcher = () => {
        void this.reloadConfig().then((r) => {
          if (!r.ok) this.say(`stack file not applied; still running the previous config:\n  ${r.problems.join("\n  ")}`);
          else if (r.actions.length > 0) this.say(`applied: ${r.actions.join("; ")}`);
        }, (err: Error) => this.say(`stack file not applied: ${err.message}`));
      };
      watchFile(this.configFile, { interval: 500 }, this.watcher);
    }
  }

  reloadConfig(): Promise<ReloadResult> {
    const next = this.reloading.then(() => this.applyConfig());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async applyConfig(): Promise<ReloadResult> {
    if (this.stopped) return { ok: true, actions: [] };
    let raw: unknown;
    try {
      raw = mergeRaw(rawFromStackYaml(readFileSync(this.configFile, "utf8"), this.stackName), this.opts.overrides);
    } catch (err) {
      return { ok: false, problems: [(err as Error).message] };
    }
    const checked = checkStackConfig(raw, { stack: this.stackName, versions: installedVersions(this.bins) });
    if (!checked.ok) return { ok: false, problems: checked.problems.map(formatProblem) };
    const before = { config: this.config, files: this.files, probeEnv: this.opts.probe ? JSON.stringify(this.probeEnv()) : "" };
    // The console as PgBouncer knows it now: a renamed admin user only exists after the reload.
    const adminUrl = this.urls.admin;
    const after = { config: checked.config, files: renderAll(checked.config, this.secrets, this.runtime) };
    const plan = planReload(before, after, this.runtime.pgbouncer);
    const actions: string[] = [];
    try {
      this.config = after.config;
      this.writeFiles(after.files);
      if (plan.restartPostgres) {
        await this.restartPostgresHoldingClients(adminUrl);
        actions.push("postgres restarted (clients held in PgBouncer: PAUSE, restart, RESUME)");
      }
      if (plan.bootstrap) {
        await bootstrapApp(this.urls.superuser, this.config, this.secrets);
        actions.push("app role and database created");
      }
      if (plan.pgbouncer === "reload") {
        await queryOnce(adminUrl, "RELOAD");
        actions.push("pgbouncer reloaded (RELOAD)");
      } else if (plan.pgbouncer === "restart") {
        await this.services.pgbouncer?.restart();
        actions.push("pgbouncer restarted");
      }
      if (plan.restartRedis) {
        await this.services.redis?.restart();
        actions.push("redis restarted");
      }
      if (this.opts.probe && JSON.stringify(this.probeEnv()) !== before.probeEnv) {
        this.probeState.url = undefined;
        const probe = this.services.probe;
        probe?.update(probeSpec(PROJECT_DIR, this.layout, this.probeEnv(), this.probeState));
        await probe?.restart();
        actions.push("probe restarted");
      }
      return { ok: true, actions };
    } catch (err) {
      // Keep describing what runs: put the previous files back for the servers not yet changed.
      this.config = before.config;
      this.writeFiles(before.files);
      const done = actions.length > 0 ? ` (already done: ${actions.join("; ")})` : "";
      return { ok: false, problems: [`applying the change failed: ${(err as Error).message}${done}`] };
    }
  }

  /**
   * A restart the stack asks for itself fails no request: PAUSE lets running transactions finish and
   * closes PgBouncer's server connections, clients then wait in PgBouncer (up to queryWaitTimeout)
   * while PostgreSQL restarts, and RESUME hands them the new server. RESUME runs whatever happens, or
   * the clients would wait forever; a PgBouncer that does not answer PAUSE (down itself) is not waited
   * for.
   */
  private async restartPostgresHoldingClients(adminUrl: string): Promise<void> {
    let paused = false;
    try {
      await queryOnce(adminUrl, "PAUSE");
      paused = true;
    } catch (err) {
      this.say(`pgbouncer did not pause (${(err as Error).message}); restarting postgres without holding clients`);
    }
    try {
      await this.services.postgres?.restart();
    } finally {
      if (paused) await queryOnce(adminUrl, "RESUME");
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.watcher) unwatchFile(this.configFile, this.watcher);
    await this.reloading;
    // No service may restart another while they go down one after the other.
    for (const svc of Object.values(this.services)) svc?.beginStop();
    // Clients first, servers last, so nothing reconnects to a server that is going away.
    for (const name of ["probe", "pgbouncer", "redis", "postgres"] as const) {
      await this.services[name]?.close();
    }
    removeRunFile(this.layout);
  }

  view(): LocalStack {
    const pid = (n: ServiceName) => this.services[n]?.pid ?? 0;
    const u = this.urls;
    const currentConfig = () => this.config;
    const probeUrl = () => this.probeState.url ?? "";
    return {
      stack: this.stackName,
      get config() {
        return currentConfig();
      },
      versions: installedVersionsFull(this.bins),
      postgres: { url: u.superuser, appUrl: u.appDirect, get pid() { return pid("postgres"); }, port: this.runtime.postgres.port },
      pgbouncer: { url: u.pooled, adminUrl: u.admin, statsUrl: u.stats, get pid() { return pid("pgbouncer"); }, port: this.runtime.pgbouncer.listenPort! },
      redis: { url: u.redis, get pid() { return pid("redis"); }, port: this.runtime.redis.port! },
      ...(this.opts.probe ? { probe: { get url() { return probeUrl(); }, get pid() { return pid("probe"); }, port: this.probePort } } : {}),
      dataDir: this.layout.dataDir,
      services: this.services,
      reloadConfig: () => this.reloadConfig(),
      stop: () => this.stop(),
    };
  }
}

function installedVersionsFull(b: Binaries) {
  return { postgres: b.postgresVersion, pgbouncer: b.pgbouncerVersion, redis: b.redisVersion };
}

/** Starts the whole stack; on any failure stops what it started and rethrows. */
export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const say = opts.log ?? (() => undefined);
  const configFile = resolveStackFile(PROJECT_DIR, opts);
  const stackName = opts.stack ?? stackNameOf(configFile);
  const bins = findBinaries({ install: opts.installMissing ?? true, say });
  const versions = installedVersions(bins);
  // Validate before touching anything: an invalid stack starts nothing and writes nothing.
  const config = loadStackFile(configFile, { stack: stackName, versions }, opts.overrides);
  const layout = layoutOf(resolve(opts.dataDir ?? join(PROJECT_DIR, ".local", stackName)));
  // Before anything touches the folder (--fresh least of all): nothing of an earlier run may hold it.
  await reclaimDataDir(layout, say);
  if (opts.fresh) rmSync(layout.dataDir, { recursive: true, force: true });
  const user = serverUser();
  makeDirs(layout, user);
  const secrets = loadOrCreateSecrets(layout.secretsFile);
  // A free port is only free until someone binds it: another stack starting at the same moment may
  // take one first. Then start over (a stack-file port now taken is moved) rather than fail.
  for (let attempt = 1; ; attempt++) {
    const { ports, moved } = await choosePorts(config, { free: opts.freePorts ?? false });
    for (const m of moved) say(m);
    const { postgres: pgPort, pgbouncer: pbPort, redis: redisPort } = ports;
    const runtime: Runtime = {
      postgres: { listenAddresses: "127.0.0.1", port: pgPort, unixSocketDir: "", hbaFile: join(layout.confDir, "pg_hba.conf"), hbaNetworks: ["127.0.0.1/32"] },
      pgbouncer: { listenAddr: "127.0.0.1", listenPort: pbPort, serverHost: "127.0.0.1", serverPort: pgPort, authFile: join(layout.confDir, "userlist.txt"), hbaFile: join(layout.confDir, "pgbouncer_hba.conf"), clientNetworks: ["127.0.0.0/8"], unixSocketDir: "" },
      redis: { bind: "127.0.0.1", port: redisPort, dir: layout.redisDir, authFile: join(layout.confDir, "redis-auth.conf") },
    };
    const logSizes = logSizesOf(layout);
    const stack = new Stack(stackName, configFile, config, opts, bins, layout, user, secrets, runtime, ports.probe, say);
    try {
      await stack.start();
      return stack.view();
    } catch (err) {
      await stack.stop();
      if (attempt < 3 && portWasTaken(layout, logSizes)) {
        say("a port was taken by another process meanwhile; starting again");
        continue;
      }
      throw err;
    }
  }
}
