/**
 * `npm start -- --monitoring`: Debian's Prometheus beside the local stack, scraping Debian's PostgreSQL and
 * Redis exporters and the probe with the alerting rules rendered from the same config, each supervised
 * like the stack's servers and on free loopback ports. Started once the stack answers, stopped before it.
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
import { join } from "node:path";
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
  const dir = join(stack.dataDir, "monitoring");
  mkdirSync(join(dir, "data"), { recursive: true });
  const ports = await distinctFreePorts(3);
  const ruleFile = join(dir, "alerts.rules.yml");
  writeAtomic(ruleFile, renderAlertRules(stack.config, { pgbouncerFigures: "probe" }));
  const targets: Partial<Record<ScrapeJob, string>> = { postgres: `${HOST}:${ports[0]}`, redis: `${HOST}:${ports[1]}` };
  if (stack.probe) targets.probe = new URL(stack.probe.url).host;
  writeAtomic(join(dir, "prometheus.yml"), renderPrometheusConfig(stack.config, { targets, ruleFiles: [ruleFile] }));

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
  return {
    prometheusUrl: `http://${HOST}:${ports[2]}`,
    ruleFile,
    services: { "postgres-exporter": postgresExporter, "redis-exporter": redisExporter, prometheus },
    stop,
  };
}
