/**
 * The local stack's server processes: started in dependency order, recorded in the data folder's run
 * file (so a later start can stop what a killed run left behind), stopped clients first.
 */
import { processRef } from "../lib/proc.ts";
import { removeRunFile, writeRunFile, type RunFile } from "./leftovers.ts";
import { bootstrapApp, initdb } from "./postgres-init.ts";
import { pgbouncerSpec, postgresSpec, probeSpec, redisSpec } from "./services.ts";
import { PROJECT_DIR, type RunState, type StackContext } from "./run-state.ts";
import { Service, type ServiceSpec } from "./supervisor.ts";
import { makeDirs } from "./files.ts";
import { renderAll } from "../infra/render/index.ts";

export type ServiceName = "postgres" | "pgbouncer" | "redis" | "probe";

/** Clients first, servers last, so nothing reconnects to a server that is going away. */
const STOP_ORDER = ["probe", "pgbouncer", "redis", "postgres"] as const;

export class Servers {
  readonly services = {} as Record<ServiceName, Service | undefined>;

  constructor(
    private readonly ctx: StackContext,
    private readonly state: RunState,
  ) {}

  /** The probe's command line and environment for the current config. */
  probeSpec(): ServiceSpec {
    return probeSpec(PROJECT_DIR, this.ctx.layout, this.state.probeEnv(), this.state.probeState);
  }

  private spec(name: ServiceName): ServiceSpec {
    const { bins, layout, user } = this.ctx;
    const u = this.state.urls;
    switch (name) {
      case "postgres":
        return postgresSpec(bins, layout, user, u.superuser);
      case "pgbouncer":
        return pgbouncerSpec(bins, layout, user, u.stats);
      case "redis":
        return redisSpec(bins, layout, u.redis, () => this.state.clientTls);
      case "probe":
        return this.probeSpec();
    }
  }

  private async start(name: ServiceName): Promise<void> {
    const svc = new Service({ ...this.spec(name), onSpawn: () => this.recordRun() }, this.ctx.say);
    this.services[name] = svc;
    await svc.start();
  }

  /** Files, cluster, then every server in the order each needs the one before. */
  async startAll(): Promise<void> {
    const { bins, layout, user, secrets, say } = this.ctx;
    const runtime = this.state.runtime;
    makeDirs(layout, user);
    this.state.writeFiles(renderAll(this.state.config, secrets, runtime));
    initdb(bins.postgresBin, layout, secrets, user, say);
    say(`postgres ${bins.postgresVersion}: starting on 127.0.0.1:${runtime.postgres.port}`);
    await this.start("postgres");
    await bootstrapApp(this.state.urls.superuser, this.state.config, secrets);
    say(`pgbouncer ${bins.pgbouncerVersion}: starting on 127.0.0.1:${runtime.pgbouncer.listenPort}`);
    say(`redis ${bins.redisVersion}: starting on 127.0.0.1:${runtime.redis.port}`);
    await Promise.all([this.start("pgbouncer"), this.start("redis")]);
    if (this.ctx.probe) {
      say("probe: starting");
      await this.start("probe");
    }
  }

  async stopAll(): Promise<void> {
    // No service may restart another while they go down one after the other.
    for (const svc of Object.values(this.services)) svc?.beginStop();
    for (const name of STOP_ORDER) await this.services[name]?.close();
    removeRunFile(this.ctx.layout);
  }

  /** What runs on the data folder, so a later start can stop what a killed run left behind. */
  private recordRun(): void {
    const services: RunFile["services"] = {};
    for (const [name, svc] of Object.entries(this.services)) {
      const ref = svc?.pid === undefined ? undefined : processRef(svc.pid);
      if (svc && ref) services[name] = { ...ref, stopSignal: svc.stopSignal };
    }
    const cli = processRef(process.pid);
    if (cli) writeRunFile(this.ctx.layout, { cli, services });
  }
}
