/**
 * The local stack: the files the cluster would get, run by the real postgres, pgbouncer and
 * redis-server (and the probe app) on free loopback ports. Not a second implementation: the same config
 * loader and the same renderers as infra/k8s.
 *
 * This module puts the parts together: run-state.ts (what runs, with which config), servers.ts
 * (starting and stopping the processes), reloader.ts (applying stack-file changes).
 */
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { resolveStackFile, stackNameOf } from "../infra/config/file.ts";
import { formatDuration, parseStackConfig, type StackConfig } from "../infra/config/index.ts";
import { findBinaries, installedVersions, type Binaries } from "./binaries.ts";
import { localMachine } from "./machine.ts";
import { layoutOf, makeDirs } from "./files.ts";
import { reclaimDataDir } from "./leftovers.ts";
import { choosePorts, logSizesOf, portWasTaken, retryOnTakenPort } from "./ports.ts";
import { Reloader, type ReloadResult, type RotationResult } from "./reloader.ts";
import type { StackLeaves } from "../infra/render/index.ts";
import type { ClientTls } from "../infra/render/urls.ts";
import { localRuntime, PROJECT_DIR, rawStackConfig, RunState, type StackContext } from "./run-state.ts";
import { loadOrCreateSecrets } from "./secrets.ts";
import { Servers, type ServiceName } from "./servers.ts";
import type { Log, Service } from "./supervisor.ts";
import { serverUser } from "./system.ts";
import { LocalTls } from "./tls.ts";
import { RenewalTimer } from "./renewal.ts";

export { PROJECT_DIR } from "./run-state.ts";
export type { ReloadResult, RotationResult } from "./reloader.ts";
export type { ServiceName } from "./servers.ts";

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
  /** The CA clients trust (psql sslrootcert, redis-cli --cacert) and the current generation of leaves. */
  tls: {
    enabled: boolean;
    caFile: string;
    /** The client pair, when servers ask clients for certificates (pooling:tls.clientCertificates). */
    clientFiles: { cert: string; key: string } | undefined;
    readonly generation: number;
    readonly renewals: number;
  };
  dataDir: string;
  services: Record<ServiceName, Service | undefined>;
  /** Re-reads the stack file and applies what changed; invalid config keeps the old one running. */
  reloadConfig(): Promise<ReloadResult>;
  /**
   * Installs new leaves (fresh ones unless given) and has every server load them without a restart. A set
   * that is expired, has a key not matching its certificate or another issuer is refused with a
   * CertificateError before any file is written or any server reloaded.
   */
  rotateCertificates(leaves?: StackLeaves): Promise<RotationResult>;
  stop(): Promise<void>;
}

/** One start of the stack: its run state, its servers and its reloader, stopped together. */
class Stack {
  readonly state: RunState;
  readonly servers: Servers;
  readonly reloader: Reloader;
  readonly renewal: RenewalTimer;
  private stopped = false;

  constructor(
    readonly ctx: StackContext,
    config: StackConfig,
    private readonly watch: boolean,
  ) {
    this.state = new RunState(ctx, config);
    this.servers = new Servers(ctx, this.state);
    this.reloader = new Reloader(ctx, this.state, this.servers);
    this.renewal = new RenewalTimer(() => this.state.config, ctx.tls, () => this.reloader.rotateCertificates(), ctx.say);
  }

  async start(): Promise<void> {
    await this.servers.startAll();
    if (this.watch) this.reloader.watch();
    this.renewal.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.renewal.stop();
    await this.reloader.stop();
    await this.servers.stopAll();
  }

  /** The public face: URLs fixed at start, pids and config read live. */
  view(): LocalStack {
    const { services } = this.servers;
    const { runtime, bins, probePort } = this.ctx;
    const pid = (n: ServiceName) => services[n]?.pid ?? 0;
    const u = this.state.urls;
    const state = this.state;
    const { tls } = this.ctx;
    const renewal = this.renewal;
    return {
      stack: this.ctx.stackName,
      get config() {
        return state.config;
      },
      versions: fullVersions(bins),
      postgres: { url: u.superuser, appUrl: u.appDirect, get pid() { return pid("postgres"); }, port: runtime.postgres.port },
      pgbouncer: { url: u.pooled, adminUrl: u.admin, statsUrl: u.stats, get pid() { return pid("pgbouncer"); }, port: runtime.pgbouncer.listenPort! },
      redis: { url: u.redis, get pid() { return pid("redis"); }, port: runtime.redis.port! },
      ...(this.ctx.probe ? { probe: { get url() { return state.probeState.url ?? ""; }, get pid() { return pid("probe"); }, port: probePort } } : {}),
      tls: {
        get enabled() {
          return state.config.tls.enabled;
        },
        caFile: tls.caFile,
        get clientFiles() {
          return state.config.tls.clientCertificates ? tls.clientFiles : undefined;
        },
        get generation() {
          return tls.generation;
        },
        get renewals() {
          return renewal.renewals;
        },
      },
      dataDir: this.ctx.layout.dataDir,
      services,
      reloadConfig: () => this.reloader.reloadConfig(),
      rotateCertificates: (leaves?: StackLeaves) => this.reloader.rotateCertificates(leaves),
      stop: () => this.stop(),
    };
  }
}

/** What a client of this stack trusts (and shows, with client certificates); undefined with TLS off. */
export function clientTlsOf(stack: Pick<LocalStack, "tls">): ClientTls | undefined {
  if (!stack.tls.enabled) return undefined;
  const pair = stack.tls.clientFiles ? { certFile: stack.tls.clientFiles.cert, keyFile: stack.tls.clientFiles.key } : {};
  return { caFile: stack.tls.caFile, ...pair };
}

function fullVersions(b: Binaries) {
  return { postgres: b.postgresVersion, pgbouncer: b.pgbouncerVersion, redis: b.redisVersion };
}

/** The data folder, reclaimed from an earlier run (and emptied with `fresh`), with its secrets. */
async function prepareDataDir(opts: LocalStackOptions, stackName: string, say: Log) {
  const layout = layoutOf(resolve(opts.dataDir ?? join(PROJECT_DIR, ".local", stackName)));
  // Before anything touches the folder (--fresh least of all): nothing of an earlier run may hold it.
  await reclaimDataDir(layout, say);
  if (opts.fresh) rmSync(layout.dataDir, { recursive: true, force: true });
  const user = serverUser();
  makeDirs(layout, user);
  return { layout, user, secrets: loadOrCreateSecrets(layout.secretsFile) };
}

/** The data folder's CA and leaves, made or renewed as needed before any server reads them. */
async function openTls(layout: { tlsDir: string }, user: ReturnType<typeof serverUser>, config: StackConfig, say: Log): Promise<LocalTls> {
  const tls = new LocalTls(layout.tlsDir, user);
  const { issued } = await tls.open(config);
  if (issued) say(`tls: issued certificate generation ${tls.generation} (valid ${formatDuration(config.tls.lifetime)}), CA ${tls.caFile}`);
  return tls;
}

/** Starts the whole stack; on any failure stops what it started and rethrows. */
export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const say = opts.log ?? (() => undefined);
  const configFile = resolveStackFile(PROJECT_DIR, opts);
  const stackName = opts.stack ?? stackNameOf(configFile);
  const bins = findBinaries({ install: opts.installMissing ?? true, say });
  // Validate before touching anything: an invalid stack starts nothing and writes nothing.
  const config = parseStackConfig(rawStackConfig(configFile, stackName, opts.overrides), { stack: stackName, versions: installedVersions(bins), machine: localMachine() });
  const dir = await prepareDataDir(opts, stackName, say);
  const tls = await openTls(dir.layout, dir.user, config, say);
  let logSizes: number[] = [];
  const attempt = async (): Promise<LocalStack> => {
    const { ports, moved } = await choosePorts(config, { free: opts.freePorts ?? false });
    for (const m of moved) say(m);
    const ctx: StackContext = {
      stackName,
      configFile,
      overrides: opts.overrides,
      probe: opts.probe ?? false,
      bins,
      ...dir,
      tls,
      runtime: localRuntime(dir.layout, ports),
      probePort: ports.probe,
      say,
    };
    logSizes = logSizesOf(dir.layout);
    const stack = new Stack(ctx, config, opts.watch ?? false);
    try {
      await stack.start();
      return stack.view();
    } catch (err) {
      await stack.stop();
      throw err;
    }
  };
  return retryOnTakenPort(attempt, () => portWasTaken(dir.layout, logSizes), say);
}
