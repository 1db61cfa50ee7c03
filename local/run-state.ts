/**
 * What the local stack runs with: the facts fixed at start (binaries, folders, ports, secrets) and the
 * state a reload changes (the config, the files written from it, the probe's URL).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mergeRaw } from "../infra/config/overrides.ts";
import { readStackFile } from "../infra/config/file.ts";
import type { StackConfig } from "../infra/config/index.ts";
import { probeEnvironment, SECRET_FILES, type RenderedFiles, type Runtime, type StackSecrets } from "../infra/render/index.ts";
import { postgresUrl, redisUrl, type ClientTls } from "../infra/render/urls.ts";
import type { Binaries } from "./binaries.ts";
import { writeAtomic, type Layout } from "./files.ts";
import type { LocalPorts } from "./ports.ts";
import type { ProbeState } from "./services.ts";
import type { Log } from "./supervisor.ts";
import type { RunAs } from "./system.ts";
import type { LocalTls } from "./tls.ts";
import { FILES } from "../infra/render/names.ts";

export const PROJECT_DIR = fileURLToPath(new URL("..", import.meta.url));

/** Everything fixed for one start of the stack. */
export interface StackContext {
  stackName: string;
  configFile: string;
  /** Raw `pooling:` values merged over the stack file's, at start and at every reload. */
  overrides: Record<string, unknown> | undefined;
  /** Whether the probe app runs too. */
  probe: boolean;
  bins: Binaries;
  layout: Layout;
  /** The user PostgreSQL and PgBouncer run as (when we are root). */
  user: RunAs | undefined;
  secrets: StackSecrets;
  /** Where each server listens and finds its files; the TLS files are RunState.runtime's (they rotate). */
  runtime: Runtime;
  /** The CA and the current leaves; made whether or not pooling:tls.enabled, so a reload may turn TLS on. */
  tls: LocalTls;
  probePort: number;
  say: Log;
}

/** The stack file's raw `pooling:` values with the overrides merged over them; unreadable is a ConfigError. */
export function rawStackConfig(configFile: string, stackName: string, overrides: Record<string, unknown> | undefined): unknown {
  return mergeRaw(readStackFile(configFile, stackName), overrides);
}

/** Every server on loopback, its files in the data folder's conf/. */
export function localRuntime(layout: Layout, ports: LocalPorts): Runtime {
  const conf = (f: string) => join(layout.confDir, f);
  return {
    postgres: { listenAddresses: "127.0.0.1", port: ports.postgres, unixSocketDir: "", hbaFile: conf(FILES.pgHbaConf), hbaNetworks: ["127.0.0.1/32"] },
    pgbouncer: {
      listenAddr: "127.0.0.1",
      listenPort: ports.pgbouncer,
      serverHost: "127.0.0.1",
      serverPort: ports.postgres,
      authFile: conf(FILES.userlist),
      hbaFile: conf(FILES.pgbouncerHba),
      clientNetworks: ["127.0.0.0/8"],
      unixSocketDir: "",
    },
    redis: { bind: "127.0.0.1", port: ports.redis, dir: layout.redisDir, authFile: conf(FILES.redisAuthConf) },
  };
}

const url = (user: string, password: string, port: number, db: string, tls: ClientTls | undefined) => postgresUrl(user, password, "127.0.0.1", port, db, tls);

/** Files PostgreSQL and PgBouncer read after dropping root: they must belong to the server user. */
const SERVER_OWNED: ReadonlySet<string> = new Set([FILES.postgresqlConf, FILES.pgHbaConf, FILES.pgbouncerIni, FILES.pgbouncerHba, FILES.userlist]);

/** The config the stack runs now, the files written from it, and what follows from them. */
export class RunState {
  private current!: RenderedFiles;
  readonly probeState: ProbeState = {};

  constructor(
    private readonly ctx: StackContext,
    public config: StackConfig,
  ) {}

  get files(): RenderedFiles {
    return this.current;
  }

  /** The runtime with the current generation of certificates. */
  get runtime(): Runtime {
    const { runtime: rt, tls } = this.ctx;
    const client = tls.paths().leaves.client;
    return {
      postgres: { ...rt.postgres, tls: tls.serverFiles("postgres") },
      pgbouncer: { ...rt.pgbouncer, tls: { ...tls.serverFiles("pgbouncer"), clientCert: client.cert, clientKey: client.key } },
      redis: { ...rt.redis, tls: tls.serverFiles("redis") },
    };
  }

  /**
   * What a client needs to verify the servers (and, when they ask, to show its own certificate); undefined
   * with TLS off. Both paths are fixed: a renewal writes the client pair over the old one (local/tls.ts).
   */
  get clientTls(): ClientTls | undefined {
    const { tls: t } = this.config;
    if (!t.enabled) return undefined;
    const client = this.ctx.tls.clientFiles;
    return { caFile: this.ctx.tls.caFile, ...(t.clientCertificates ? { certFile: client.cert, keyFile: client.key } : {}) };
  }

  get urls() {
    const { secrets: s, runtime: rt } = this.ctx;
    const c = this.config;
    const tls = this.clientTls;
    return {
      superuser: url("postgres", s.superuser.password, rt.postgres.port, "postgres", tls),
      appDirect: url(c.postgres.user, s.app.password, rt.postgres.port, c.postgres.database, tls),
      pooled: url(c.postgres.user, s.app.password, rt.pgbouncer.listenPort!, c.postgres.database, tls),
      admin: url(c.pgbouncer.adminUser, s.pgbouncerAdmin.password, rt.pgbouncer.listenPort!, "pgbouncer", tls),
      stats: url(c.pgbouncer.statsUser, s.pgbouncerStats.password, rt.pgbouncer.listenPort!, "pgbouncer", tls),
      redis: redisUrl(s.redisPassword, "127.0.0.1", rt.redis.port!, tls !== undefined),
    };
  }

  probeEnv(): Record<string, string> {
    const u = this.urls;
    return probeEnvironment(this.config, {
      databaseUrl: u.pooled,
      directDatabaseUrl: u.appDirect,
      pgbouncerStatsUrl: u.stats,
      redisUrl: u.redis,
      tls: this.clientTls,
      host: "127.0.0.1",
      port: this.ctx.probePort,
    });
  }

  /** Every rendered file into conf/; PostgreSQL's and PgBouncer's belong to the user that runs them. */
  writeFiles(files: RenderedFiles): void {
    for (const [name, text] of Object.entries(files)) {
      writeAtomic(join(this.ctx.layout.confDir, name), text, {
        owner: SERVER_OWNED.has(name) ? this.ctx.user : undefined,
        secret: (SECRET_FILES as readonly string[]).includes(name),
      });
    }
    this.current = files;
  }
}
