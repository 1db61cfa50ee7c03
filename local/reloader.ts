/**
 * Applying stack-file changes to the running local stack: re-validate, re-render, then restart or
 * RELOAD only what the change touches (the decision is local/reload.ts's). Invalid config, or a change
 * that fails half-way, keeps the previous files describing what runs.
 */
import { unwatchFile, watchFile, type StatsListener } from "node:fs";
import { checkStackConfig, ConfigError, formatProblem } from "../infra/config/index.ts";
import { renderAll } from "../infra/render/index.ts";
import { installedVersions } from "./binaries.ts";
import { localMachine } from "./machine.ts";
import { bootstrapApp } from "./postgres-init.ts";
import { planReload, type ReloadPlan } from "./reload.ts";
import { rawStackConfig, type RunState, type StackContext } from "./run-state.ts";
import type { Servers } from "./servers.ts";
import { queryOnce, redisOnce } from "./services.ts";
import type { StackLeaves } from "../infra/render/index.ts";

export type ReloadResult = { ok: false; problems: string[] } | { ok: true; actions: string[] };

/** What a certificate rotation did: the generation now served and what each server was told. */
export interface RotationResult {
  generation: number;
  actions: string[];
}

export class Reloader {
  private reloading: Promise<unknown> = Promise.resolve();
  private watcher: StatsListener | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: StackContext,
    private readonly state: RunState,
    private readonly servers: Servers,
  ) {}

  /** Re-reads the stack file and applies what changed; one reload at a time, in call order. */
  reloadConfig(): Promise<ReloadResult> {
    const next = this.reloading.then(() => this.apply());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  /** Rotates the leaves (reloader.ts rotate); queued with config reloads so the two never interleave. */
  rotateCertificates(leaves?: StackLeaves): Promise<RotationResult> {
    const next = this.reloading.then(() => this.rotate(leaves));
    this.reloading = next.catch(() => undefined);
    return next;
  }

  /**
   * New leaves, checked (LocalTls.install refuses an expired set, a key that is not its certificate's, or
   * another issuer, with a CertificateError, before writing anything), written as the next generation,
   * the files re-rendered with their paths, then each server told, none restarted:
   * - PostgreSQL: pg_reload_conf(), i.e. SIGHUP to the postmaster; every ssl_* setting has context
   *   sighup, and new connections get the new certificate (infra/render/postgres.ts).
   * - PgBouncer: RELOAD, which runs sbuf_tls_setup() again (infra/render/pgbouncer.ts).
   * - Redis: CONFIG SET of tls-cert-file, tls-key-file and tls-ca-cert-file in one command (Redis 7 sets
   *   several parameters atomically, and applies the TLS context once: config.c configSetCommand), to
   *   the new paths (a changed path is what makes Redis 7.0 reload: infra/render/redis.ts).
   * Connections already open keep their session: TLS does not re-handshake on a certificate change.
   */
  private async rotate(given: StackLeaves | undefined): Promise<RotationResult> {
    const { tls, secrets } = this.ctx;
    const leaves = given ?? (await tls.issue(this.state.config));
    const before = { generation: tls.generation, files: this.state.files };
    const generation = tls.install(leaves);
    const actions: string[] = [];
    try {
      this.state.writeFiles(renderAll(this.state.config, secrets, this.state.runtime));
      if (this.state.config.tls.enabled) await this.reloadTls(actions);
    } catch (err) {
      // Back to the generation the servers that were not told still use; the new one stays on disk.
      tls.generation = before.generation;
      this.state.writeFiles(before.files);
      const done = actions.length > 0 ? ` (already done: ${actions.join("; ")})` : "";
      throw new Error(`installing certificate generation ${generation} failed: ${(err as Error).message}${done}`, { cause: err });
    }
    tls.prune();
    return { generation, actions };
  }

  private async reloadTls(actions: string[]): Promise<void> {
    const u = this.state.urls;
    await queryOnce(u.superuser, "SELECT pg_reload_conf()");
    actions.push("postgres reloaded (pg_reload_conf)");
    await queryOnce(u.admin, "RELOAD");
    actions.push("pgbouncer reloaded (RELOAD)");
    const files = this.state.runtime.redis.tls!;
    await redisOnce(u.redis, this.state.clientTls, "CONFIG", "SET", "tls-cert-file", files.cert, "tls-key-file", files.key, "tls-ca-cert-file", files.ca);
    actions.push("redis took the new files (CONFIG SET tls-cert-file tls-key-file tls-ca-cert-file)");
  }

  /** Reloads whenever the stack file changes, saying what was applied or why not. */
  watch(): void {
    this.watcher = () => {
      void this.reloadConfig().then(
        (r) => {
          if (!r.ok) this.ctx.say(`stack file not applied; still running the previous config:\n  ${r.problems.join("\n  ")}`);
          else if (r.actions.length > 0) this.ctx.say(`applied: ${r.actions.join("; ")}`);
        },
        (err: Error) => this.ctx.say(`stack file not applied: ${err.message}`),
      );
    };
    watchFile(this.ctx.configFile, { interval: 500 }, this.watcher);
  }

  /** No reload starts after this; resolves once the one under way (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watcher) unwatchFile(this.ctx.configFile, this.watcher);
    await this.reloading;
  }

  private async apply(): Promise<ReloadResult> {
    if (this.stopped) return { ok: true, actions: [] };
    const { stackName, configFile, overrides, bins, secrets } = this.ctx;
    const runtime = this.state.runtime;
    let raw: unknown;
    try {
      raw = rawStackConfig(configFile, stackName, overrides);
    } catch (err) {
      return { ok: false, problems: err instanceof ConfigError ? err.problems.map(formatProblem) : [(err as Error).message] };
    }
    const checked = checkStackConfig(raw, { stack: stackName, versions: installedVersions(bins), machine: localMachine() });
    if (!checked.ok) return { ok: false, problems: checked.problems.map(formatProblem) };
    const before = { config: this.state.config, files: this.state.files, probeEnv: this.ctx.probe ? JSON.stringify(this.state.probeEnv()) : "" };
    // The console as PgBouncer knows it now: a renamed admin user only exists after the reload.
    const adminUrl = this.state.urls.admin;
    const after = { config: checked.config, files: renderAll(checked.config, secrets, runtime) };
    const plan = planReload(before, after, runtime.pgbouncer);
    const actions: string[] = [];
    try {
      this.state.config = after.config;
      this.state.writeFiles(after.files);
      await this.carryOut(plan, adminUrl, before.probeEnv, actions);
      return { ok: true, actions };
    } catch (err) {
      // Keep describing what runs: put the previous files back for the servers not yet changed.
      this.state.config = before.config;
      this.state.writeFiles(before.files);
      const done = actions.length > 0 ? ` (already done: ${actions.join("; ")})` : "";
      return { ok: false, problems: [`applying the change failed: ${(err as Error).message}${done}`] };
    }
  }

  /** Each step of the plan, in order, noted in `actions` once done (so a failure can say how far it got). */
  private async carryOut(plan: ReloadPlan, adminUrl: string, probeEnvBefore: string, actions: string[]): Promise<void> {
    const { services } = this.servers;
    if (plan.restartPostgres) {
      await this.restartPostgresHoldingClients(adminUrl);
      actions.push("postgres restarted (clients held in PgBouncer: PAUSE, restart, RESUME)");
    }
    if (plan.bootstrap) {
      await bootstrapApp(this.state.urls.superuser, this.state.config, this.ctx.secrets);
      actions.push("app role and database created");
    }
    if (plan.pgbouncer === "reload") {
      await queryOnce(adminUrl, "RELOAD");
      actions.push("pgbouncer reloaded (RELOAD)");
    } else if (plan.pgbouncer === "restart") {
      await services.pgbouncer?.restart();
      actions.push("pgbouncer restarted");
    }
    if (plan.restartRedis) {
      await services.redis?.restart();
      actions.push("redis restarted");
    }
    if (this.ctx.probe && JSON.stringify(this.state.probeEnv()) !== probeEnvBefore) {
      this.state.probeState.url = undefined;
      services.probe?.update(this.servers.probeSpec());
      await services.probe?.restart();
      actions.push("probe restarted");
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
      this.ctx.say(`pgbouncer did not pause (${(err as Error).message}); restarting postgres without holding clients`);
    }
    try {
      await this.servers.services.postgres?.restart();
    } finally {
      if (paused) await queryOnce(adminUrl, "RESUME");
    }
  }
}
