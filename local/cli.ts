/**
 * `npm start`: the stack as local processes. Progress goes to stderr; when everything answers, the
 * connection URLs go to stdout (with --json, exactly one JSON line).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { poolDerivationNote } from "../infra/config/index.ts";
import { parseCommandLine, runCli } from "../lib/cli.ts";
import { localMachine } from "./machine.ts";
import { startMonitoring, type LocalMonitoring } from "./monitoring.ts";
import { PROJECT_DIR, startLocalStack, type LocalStack } from "./stack.ts";

const USAGE = `Usage: npm start -- [--stack NAME | --config-file PATH] [--data-dir DIR] [--fresh] [--json] [--no-probe] [--free-ports] [--monitoring]

Starts PostgreSQL, PgBouncer, Redis and the probe app on loopback, with the files rendered from the
stack file (default Pulumi.dev.yaml), on the stack file's ports (a port another process holds is moved,
and said so). --free-ports puts every server on a fresh free port instead (tests, stacks side by side).
Edits to the stack file are validated and applied while it runs. --monitoring also runs Prometheus
with the PostgreSQL and Redis exporters on loopback, the alerting rules rendered from the same stack
file loaded, and prints its URL. Ctrl-C stops everything.`;

const say = (m: string) => process.stderr.write(`[pooling] ${m}\n`);

/** The command line as parsed options; a bad one is a CliUsageError. */
function commandLine(argv: string[]) {
  return parseCommandLine(
    {
      args: argv,
      options: {
        stack: { type: "string" },
        "config-file": { type: "string" },
        "data-dir": { type: "string" },
        fresh: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        "no-probe": { type: "boolean", default: false },
        "free-ports": { type: "boolean", default: false },
        monitoring: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    },
    USAGE,
  ).values;
}

/** The pool sizes the stack derived, and from which facts of this machine; none when the stack file set them all. */
function poolsLine(s: LocalStack): string[] {
  const note = poolDerivationNote(s.config);
  if (note === undefined) return [];
  const m = localMachine();
  return [`  ${note} (from this machine: ${m.postgresCores} cores, ${m.pgbouncerReplicas} PgBouncer)`];
}

/** What stdout gets once the stack answers: one JSON line, or the URLs for a person. */
function readyReport(s: LocalStack, json: boolean, monitoring: LocalMonitoring | undefined): string {
  if (json) {
    const line = {
      ...(monitoring ? { prometheus: { url: monitoring.prometheusUrl, rules: monitoring.ruleFile, pid: monitoring.services.prometheus.pid } } : {}),
      postgres: { url: s.postgres.url, pid: s.postgres.pid },
      pgbouncer: { url: s.pgbouncer.url, adminUrl: s.pgbouncer.adminUrl, pid: s.pgbouncer.pid },
      redis: { url: s.redis.url, pid: s.redis.pid },
      ...(s.probe ? { probe: { url: s.probe.url, pid: s.probe.pid } } : {}),
      ...(s.tls.enabled ? { tls: { caFile: s.tls.caFile } } : {}),
      dataDir: s.dataDir,
    };
    return `${JSON.stringify(line)}\n`;
  }
  return [
    `Stack "${s.stack}" is ready (PostgreSQL ${s.versions.postgres}, PgBouncer ${s.versions.pgbouncer}, Redis ${s.versions.redis}).`,
    `  pooled (PgBouncer):  ${s.pgbouncer.url}`,
    `  direct (PostgreSQL): ${s.postgres.appUrl}`,
    `  superuser:           ${s.postgres.url}`,
    `  PgBouncer console:   ${s.pgbouncer.adminUrl}`,
    // The CA cannot ride in a redis:// URL: redis-cli takes it as --cacert, ioredis as tls: { ca }.
    `  Redis:               ${s.redis.url}${s.tls.enabled ? `  (redis-cli --tls --cacert ${s.tls.caFile} -u URL)` : ""}`,
    ...(s.tls.enabled ? [`  TLS CA:              ${s.tls.caFile}  (every server's certificate is signed by it; leaves renew while this runs)`] : []),
    ...(s.probe ? [`  probe app:           ${s.probe.url}  (/probe /readyz /metrics /stats)`] : []),
    ...(monitoring ? [`  Prometheus:          ${monitoring.prometheusUrl}  (/alerts; rules: ${monitoring.ruleFile})`] : []),
    `  data and logs:       ${s.dataDir}`,
    ...poolsLine(s),
    "Edit the stack file to apply changes; Ctrl-C to stop.",
    "",
  ].join("\n");
}

/** Tracks the stack through start and stop, so a signal at any moment stops whatever already runs. */
class Lifecycle {
  stack: LocalStack | undefined;
  monitoring: LocalMonitoring | undefined;
  starting: Promise<LocalStack> | undefined;
  stopping = false;

  /** First signal: stop gracefully (waiting for a start under way). Second: SIGKILL every server, exit. */
  readonly shutdown = (signal: NodeJS.Signals): void => {
    if (this.stopping) {
      say(`${signal} again: exiting now`);
      for (const svc of [...Object.values(this.stack?.services ?? {}), ...Object.values(this.monitoring?.services ?? {})]) svc?.kill("SIGKILL");
      process.exit(130);
    }
    this.stopping = true;
    say(`${signal}: stopping (again to force)`);
    // A stack still starting has servers already: wait for it, then stop them all.
    const current = this.stack ? Promise.resolve(this.stack) : (this.starting ?? Promise.reject(new Error("not started")));
    void current
      .then(async (s) => {
        // Prometheus and the exporters first: they would only report the stack going away.
        await this.monitoring?.stop();
        await s.stop();
      }, () => undefined)
      .then(
        () => process.exit(0),
        (err: Error) => {
          say(`stop failed: ${err.message}`);
          process.exit(1);
        },
      );
  };

  /** Signals stop the stack; so does losing the parent process. */
  installHandlers(): void {
    process.on("SIGINT", this.shutdown);
    process.on("SIGTERM", this.shutdown);
    process.on("SIGHUP", this.shutdown);
    // npm does not pass SIGTERM on to its script; if whoever started us is gone, stop rather than
    // leave the servers running as orphans.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent && !this.stopping) this.shutdown("SIGTERM");
    }, 1000).unref();
  }
}

/**
 * Starts the stack and runs until a signal stops it (the Lifecycle exits then); a failure to start is
 * thrown to runCli, which tells it.
 */
async function main(argv: string[]): Promise<number> {
  const args = commandLine(argv);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const life = new Lifecycle();
  life.installHandlers();
  const withMonitoring = async (s: LocalStack): Promise<LocalStack> => {
    life.stack = s;
    if (!args.monitoring || life.stopping) return s;
    try {
      life.monitoring = await startMonitoring(s, { log: say });
    } catch (err) {
      // startMonitoring stopped what it started; the stack is ours to stop before failing.
      await s.stop();
      throw err;
    }
    return s;
  };
  life.starting = startLocalStack({
    stack: args.stack,
    configFile: args["config-file"],
    dataDir: args["data-dir"],
    fresh: args.fresh,
    freePorts: args["free-ports"],
    probe: !args["no-probe"] && existsSync(join(PROJECT_DIR, "app-probe", "src", "main.ts")),
    watch: true,
    log: say,
  }).then(withMonitoring);
  const runUntilStopped = new Promise<number>(() => undefined);
  try {
    const s = await life.starting;
    if (!life.stopping) process.stdout.write(readyReport(s, args.json, life.monitoring));
  } catch (err) {
    // A start interrupted by a signal: the Lifecycle's shutdown tells how it ends.
    if (!life.stopping) throw err;
  }
  return runUntilStopped;
}

runCli(main, { prefix: "[pooling] ", exit: true });
