/**
 * `npm start -- --monitoring`: Debian's Prometheus beside the local stack, scraping Debian's PostgreSQL and
 * Redis exporters and the probe with the alerting rules rendered from the same config, each supervised
 * like the stack's servers and on free loopback ports. Started once the stack answers, stopped before it.
 * An applied edit of the stack file re-renders the rules and prometheus.yml and reloads Prometheus, so a
 * threshold follows the pool size or limit it was rendered from.
 *
 * PgBouncer has no exporter here (Debian packages none): the probe reads SHOW POOLS itself and its
 * `probe_pgbouncer_*` figures stand in, with rules rendered for that source (infra/render/metrics.ts).
 * A toolchain recipe could build the real one: `go install github.com/prometheus-community/
 * pgbouncer_exporter@v0.10.2` works as is (its module root is package main and its go.mod, go 1.22, has no
 * replace directives), with `-X github.com/prometheus/common/version.Version=0.10.2` as its .promu.yml
 * sets; it takes the console URL from PGBOUNCER_EXPORTER_CONNECTION_STRING (pgbouncer_exporter.go). Then
 * this module would add a pgbouncer job and render the rules for `pgbouncerFigures: "exporter"`.
 */
import { mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import type { StackConfig } from "../infra/config/index.ts";
import { renderAlertRules, renderPrometheusConfig, type ScrapeJob } from "../infra/render/index.ts";
import { findMonitoringBinaries, type MonitoringBinaries } from "./binaries.ts";
import { writeAtomic } from "./files.ts";
import { distinctFreePorts } from "./ports.ts";
import type { LocalStack } from "./stack.ts";
import { Service, until, type Log, type ServiceSpec } from "./supervisor.ts";

export type MonitoringServiceName = "postgres-exporter" | "redis-exporter" | "prometheus";

export interface LocalMonitoring {
  /** Prometheus' web UI and API, e.g. http://127.0.0.1:41234. */
  prometheusUrl: string;
  ruleFile: string;
  /**
   * Rewrites the rule file and prometheus.yml from the stack's config as it is now and, when either
   * changed, has Prometheus reload them; whether it did. Called on its own after each applied reload.
   */
  followConfig(): boolean;
  services: Record<MonitoringServiceName, Service>;
  stop(): Promise<void>;
}

export interface MonitoringOptions {
  /** Install missing binaries with apt when root on Debian/Ubuntu (default true). */
  installMissing?: boolean;
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
 * lib/pq, which the exporter is built on, defaults to sslmode=require; the local PostgreSQL listens on
 * loopback without TLS, so the exporter is told not to ask for it.
 */
function exporterDsn(url: string): string {
  const u = new URL(url);
  u.searchParams.set("sslmode", "disable");
  return u.toString();
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
      args: [`-web.listen-address=${HOST}:${redisPort}`],
      // redis_exporter main.go: REDIS_ADDR and REDIS_PASSWORD are its flags' environment defaults.
      env: { ...serverEnv(), REDIS_ADDR: `redis://${redis.host}`, REDIS_PASSWORD: decodeURIComponent(redis.password) },
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
  const dir = join(stack.dataDir, "monitoring");
  mkdirSync(join(dir, "data"), { recursive: true });
  const ports = await distinctFreePorts(3);
  const ruleFile = join(dir, "alerts.rules.yml");
  const targets: Partial<Record<ScrapeJob, string>> = { postgres: `${HOST}:${ports[0]}`, redis: `${HOST}:${ports[1]}` };
  if (stack.probe) targets.probe = new URL(stack.probe.url).host;
  const files = (cfg: StackConfig): Array<[string, string]> => [
    [ruleFile, renderAlertRules(cfg, { pgbouncerFigures: "probe" })],
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
    for (const spec of specs(stack, bins, dir, ports)) {
      say(`${spec.name}: starting`);
      const svc = new Service(spec, say);
      started.push(svc);
      await svc.start();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const [postgresExporter, redisExporter, prometheus] = started as [Service, Service, Service];
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
    services: { "postgres-exporter": postgresExporter, "redis-exporter": redisExporter, prometheus },
    async stop() {
      clearInterval(follower);
      await stop();
    },
  };
}
