/**
 * `npm start -- --monitoring`: Debian's Prometheus beside the local stack, scraping Debian's PostgreSQL and
 * Redis exporters and the probe with the alerting rules rendered from the same config, each supervised
 * like the stack's servers and on free loopback ports. Started once the stack answers, stopped before it.
 * An applied edit of the stack file re-renders the rules and prometheus.yml and reloads Prometheus, so a
 * threshold follows the pool size or limit it was rendered from.
 *
 * PgBouncer's exporter has no Debian package. When the toolchain has built it (`npm run toolchain`,
 * toolchain/recipes/exporters.ts: prometheus-community/pgbouncer_exporter at the sidecar's version) it runs
 * here too, on PgBouncer's console as the stats user, and the rules are rendered for its
 * `pgbouncer_pools_*` figures, as on Kubernetes. Without it, the probe's own reading of SHOW POOLS
 * (`probe_pgbouncer_*`) stands in, with the rules rendered for that source (infra/render/metrics.ts).
 */
import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import type { StackConfig } from "../infra/config/index.ts";
import { renderAlertRules, renderPrometheusConfig, type PgbouncerFigures, type ScrapeJob } from "../infra/render/index.ts";
import { isBuilt } from "../toolchain/build.ts";
import { toolchainPaths } from "../toolchain/paths.ts";
import { pgbouncerExporter } from "../toolchain/recipes/exporters.ts";
import { EXPORTERS } from "../toolchain/versions.ts";
import { findMonitoringBinaries, type MonitoringBinaries } from "./binaries.ts";
import { MissingBinaryError } from "./errors.ts";
import { writeAtomic } from "./files.ts";
import { distinctFreePorts } from "./ports.ts";
import type { LocalStack } from "./stack.ts";
import { Service, until, type Log, type ServiceSpec } from "./supervisor.ts";

export type MonitoringServiceName = "postgres-exporter" | "redis-exporter" | "prometheus";

/** pgbouncer_exporter as the toolchain built it, or undefined when it has not (nothing to download here). */
export function findPgbouncerExporter(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const paths = toolchainPaths(env);
  const recipe = pgbouncerExporter(EXPORTERS.pgbouncerExporter);
  return isBuilt(paths, recipe) ? join(paths.bin, recipe.binaries[0]!) : undefined;
}

export interface LocalMonitoring {
  /** Prometheus' web UI and API, e.g. http://127.0.0.1:41234. */
  prometheusUrl: string;
  ruleFile: string;
  /**
   * Rewrites the rule file and prometheus.yml from the stack's config as it is now and, when either
   * changed, has Prometheus reload them; whether it did. Called on its own after each applied reload.
   */
  followConfig(): boolean;
  /** Where the rules' PgBouncer figures come from: pgbouncer_exporter, or the probe standing in. */
  pgbouncerFigures: PgbouncerFigures;
  services: Record<MonitoringServiceName, Service> & { "pgbouncer-exporter"?: Service };
  stop(): Promise<void>;
}

export interface MonitoringOptions {
  /** Install missing binaries with apt when root on Debian/Ubuntu (default true). */
  installMissing?: boolean;
  /**
   * `exporter`: pgbouncer_exporter, which the toolchain must have built; `probe`: the probe's figures.
   * Unset: the exporter when built, else the probe.
   */
  pgbouncerFigures?: PgbouncerFigures;
  /** Where to look for the toolchain's binaries (POOLING_TOOLCHAIN_DIR and the rest); default process.env. */
  env?: NodeJS.ProcessEnv;
  log?: Log;
}

const HOST = "127.0.0.1";
const serverEnv = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" });

/** Resolves once `url` answers 200. */
const answers = (url: string) => (signal: AbortSignal) =>
  until(signal, async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
  });

/**
 * lib/pq, which the exporter is built on, reads libpq's sslmode, sslrootcert, sslcert and sslkey from the
 * URL (lib/pq conn.go, ssl.go): the stack's URL already says verify-full against its CA. With TLS off the
 * exporter is told not to ask for TLS, since lib/pq's default is sslmode=require.
 */
function exporterDsn(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has("sslmode")) u.searchParams.set("sslmode", "disable");
  return u.toString();
}

/**
 * pgbouncer_exporter on `port`, reading PgBouncer's console as the stats user. Its flags at v0.10.2
 * (pgbouncer_exporter.go): the console URL from PGBOUNCER_EXPORTER_CONNECTION_STRING (the Envar of
 * --pgBouncer.connectionString; kept out of ps), --web.listen-address from exporter-toolkit's kingpinflag.
 */
function pgbouncerExporterSpec(stack: LocalStack, bin: string, port: number): ServiceSpec {
  return {
    name: "pgbouncer-exporter",
    command: bin,
    args: [`--web.listen-address=${HOST}:${port}`],
    env: { ...serverEnv(), PGBOUNCER_EXPORTER_CONNECTION_STRING: exporterDsn(stack.pgbouncer.statsUrl) },
    ready: answers(`http://${HOST}:${port}/metrics`),
    stopSignal: "SIGTERM",
    stopTimeoutMs: 5000,
    logFile: join(stack.dataDir, "logs", "pgbouncer-exporter.log"),
  };
}

/**
 * redis_exporter's TLS flags (its --help): -tls-ca-cert-file is the CA it verifies Redis with, the client
 * pair goes in -tls-client-cert-file/-tls-client-key-file; `rediss://` in the address turns TLS on.
 */
function redisExporterTlsArgs(stack: LocalStack): string[] {
  if (!stack.tls.enabled) return [];
  const pair = stack.tls.clientFiles ? [`-tls-client-cert-file=${stack.tls.clientFiles.cert}`, `-tls-client-key-file=${stack.tls.clientFiles.key}`] : [];
  return [`-tls-ca-cert-file=${stack.tls.caFile}`, ...pair];
}

function specs(stack: LocalStack, bins: MonitoringBinaries, dir: string, ports: number[]): ServiceSpec[] {
  const [pgPort, redisPort, promPort] = ports as [number, number, number];
  const redis = new URL(stack.redis.url);
  const logFile = (name: string) => join(stack.dataDir, "logs", `${name}.log`);
  return [
    {
      name: "postgres-exporter",
      command: bins.postgresExporter,
      args: [`--web.listen-address=${HOST}:${pgPort}`],
      // Credentials by environment, not arguments, which any user can read in ps (postgres_exporter
      // main.go/datasource.go: DATA_SOURCE_NAME wins over every other source).
      env: { ...serverEnv(), DATA_SOURCE_NAME: exporterDsn(stack.postgres.url) },
      ready: answers(`http://${HOST}:${pgPort}/metrics`),
      stopSignal: "SIGTERM",
      stopTimeoutMs: 5000,
      logFile: logFile("postgres-exporter"),
    },
    {
      name: "redis-exporter",
      command: bins.redisExporter,
      args: [`-web.listen-address=${HOST}:${redisPort}`, ...redisExporterTlsArgs(stack)],
      // redis_exporter main.go: REDIS_ADDR and REDIS_PASSWORD are its flags' environment defaults.
      env: { ...serverEnv(), REDIS_ADDR: `${redis.protocol}//${redis.host}`, REDIS_PASSWORD: decodeURIComponent(redis.password) },
      ready: answers(`http://${HOST}:${redisPort}/metrics`),
      stopSignal: "SIGTERM",
      stopTimeoutMs: 5000,
      logFile: logFile("redis-exporter"),
    },
    {
      name: "prometheus",
      command: bins.prometheus,
      args: [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=${HOST}:${promPort}`],
      env: serverEnv(),
      ready: answers(`http://${HOST}:${promPort}/-/ready`),
      readyTimeoutMs: 60_000,
      stopSignal: "SIGTERM",
      stopTimeoutMs: 15_000,
      logFile: logFile("prometheus"),
    },
  ];
}

/** Writes the rule file and prometheus.yml for `stack`, and starts the exporters, then Prometheus. */
export async function startMonitoring(stack: LocalStack, opts: MonitoringOptions = {}): Promise<LocalMonitoring> {
  const say = opts.log ?? (() => undefined);
  const bins = findMonitoringBinaries({ install: opts.installMissing ?? true, say });
  const exporterBin = opts.pgbouncerFigures === "probe" ? undefined : findPgbouncerExporter(opts.env);
  if (opts.pgbouncerFigures === "exporter" && !exporterBin) throw new MissingBinaryError("pgbouncer_exporter", "npm run toolchain");
  const figures: PgbouncerFigures = exporterBin ? "exporter" : "probe";
  say(exporterBin ? `PgBouncer figures: pgbouncer_exporter ${EXPORTERS.pgbouncerExporter} (built by the toolchain)` : "PgBouncer figures: the probe's SHOW POOLS (no pgbouncer_exporter built; npm run toolchain builds it)");
  const dir = join(stack.dataDir, "monitoring");
  mkdirSync(join(dir, "data"), { recursive: true });
  const ports = await distinctFreePorts(exporterBin ? 4 : 3);
  const ruleFile = join(dir, "alerts.rules.yml");
  const targets: Partial<Record<ScrapeJob, string>> = { postgres: `${HOST}:${ports[0]}`, redis: `${HOST}:${ports[1]}` };
  if (stack.probe) targets.probe = new URL(stack.probe.url).host;
  if (exporterBin) targets.pgbouncer = `${HOST}:${ports[3]}`;
  const files = (cfg: StackConfig): Array<[string, string]> => [
    [ruleFile, renderAlertRules(cfg, { pgbouncerFigures: figures })],
    [join(dir, "prometheus.yml"), renderPrometheusConfig(cfg, { targets, ruleFiles: [ruleFile] })],
  ];
  let written = files(stack.config);
  for (const [file, text] of written) writeAtomic(file, text);

  const started: Service[] = [];
  const stop = async () => {
    for (const svc of started) svc.beginStop();
    for (const svc of [...started].reverse()) await svc.close();
  };
  try {
    // The exporter first: Prometheus, started last, finds every target up.
    for (const spec of [...(exporterBin ? [pgbouncerExporterSpec(stack, exporterBin, ports[3]!)] : []), ...specs(stack, bins, dir, ports)]) {
      say(`${spec.name}: starting`);
      const svc = new Service(spec, say);
      started.push(svc);
      await svc.start();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const byName = (name: string) => started.find((svc) => svc.name === name);
  const [postgresExporter, redisExporter, prometheus] = (["postgres-exporter", "redis-exporter", "prometheus"] as const).map((n) => byName(n)!) as [Service, Service, Service];
  const pgbouncerExporterSvc = byName("pgbouncer-exporter");
  // A reload that changes a pool size or a limit moves the thresholds: the rules follow the config they
  // were rendered from. The stack replaces its config object on each applied reload (local/reloader.ts).
  let followed = stack.config;
  const followConfig = () => {
    followed = stack.config;
    const now = files(followed);
    const changed = now.filter(([file, text]) => written.find(([f]) => f === file)?.[1] !== text);
    if (changed.length === 0) return false;
    for (const [file, text] of changed) writeAtomic(file, text);
    written = now;
    // SIGHUP reloads prometheus.yml and every rule file it names (Prometheus' configuration docs, "A
    // configuration reload is triggered by sending a SIGHUP to the Prometheus process ... This will also
    // reload any configured rule files"); /-/reload would need --web.enable-lifecycle.
    prometheus.kill("SIGHUP");
    say(`prometheus: rules and config rewritten from the reloaded stack config (${changed.map(([f]) => basename(f)).join(", ")}), SIGHUP sent`);
    return true;
  };
  const follower = setInterval(() => {
    if (stack.config !== followed) followConfig();
  }, 250).unref();
  return {
    prometheusUrl: `http://${HOST}:${ports[2]}`,
    ruleFile,
    followConfig,
    pgbouncerFigures: figures,
    services: { "postgres-exporter": postgresExporter, "redis-exporter": redisExporter, prometheus, ...(pgbouncerExporterSvc ? { "pgbouncer-exporter": pgbouncerExporterSvc } : {}) },
    async stop() {
      clearInterval(follower);
      await stop();
    },
  };
}
