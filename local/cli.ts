/**
 * `npm start`: the stack as local processes. Progress goes to stderr; when everything answers, the
 * connection URLs go to stdout (with --json, exactly one JSON line).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../infra/config/index.ts";
import { MissingBinaryError } from "./binaries.ts";
import { PROJECT_DIR, startLocalStack, type LocalStack } from "./stack.ts";

const USAGE = `Usage: npm start -- [--stack NAME | --config-file PATH] [--data-dir DIR] [--fresh] [--json] [--no-probe] [--free-ports]

Starts PostgreSQL, PgBouncer, Redis and the probe app on loopback, with the files rendered from the
stack file (default Pulumi.dev.yaml), on the stack file's ports (a port another process holds is moved,
and said so). --free-ports puts every server on a fresh free port instead (tests, stacks side by side).
Edits to the stack file are validated and applied while it runs. Ctrl-C stops everything.`;

function main(): void {
  let args;
  try {
    args = parseArgs({
      options: {
        stack: { type: "string" },
        "config-file": { type: "string" },
        "data-dir": { type: "string" },
        fresh: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        "no-probe": { type: "boolean", default: false },
        "free-ports": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const say = (m: string) => process.stderr.write(`[pooling] ${m}\n`);
  const probe = !args["no-probe"] && existsSync(join(PROJECT_DIR, "app-probe", "src", "main.ts"));
  let stack: LocalStack | undefined;
  let starting: Promise<LocalStack> | undefined = undefined;
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      say(`${signal} again: exiting now`);
      for (const svc of Object.values(stack?.services ?? {})) svc?.kill("SIGKILL");
      process.exit(130);
    }
    stopping = true;
    say(`${signal}: stopping (again to force)`);
    // A stack still starting has servers already: wait for it, then stop them all.
    const current = stack ? Promise.resolve(stack) : (starting ?? Promise.reject(new Error("not started")));
    void current
      .then((s) => s.stop(), () => undefined)
      .then(
        () => process.exit(0),
        (err: Error) => {
          say(`stop failed: ${err.message}`);
          process.exit(1);
        },
      );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  process.on("SIGHUP", shutdown);
  // npm does not pass SIGTERM on to its script; if whoever started us is gone, stop rather than
  // leave the servers running as orphans.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent && !stopping) shutdown("SIGTERM");
  }, 1000).unref();

  starting = startLocalStack({
    stack: args.stack,
    configFile: args["config-file"],
    dataDir: args["data-dir"],
    fresh: args.fresh,
    freePorts: args["free-ports"],
    probe,
    watch: true,
    log: say,
  });
  starting.then(
    (s) => {
      stack = s;
      if (stopping) return;
      if (args.json) {
        const line = {
          postgres: { url: s.postgres.url, pid: s.postgres.pid },
          pgbouncer: { url: s.pgbouncer.url, adminUrl: s.pgbouncer.adminUrl, pid: s.pgbouncer.pid },
          redis: { url: s.redis.url, pid: s.redis.pid },
          ...(s.probe ? { probe: { url: s.probe.url, pid: s.probe.pid } } : {}),
          dataDir: s.dataDir,
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      } else {
        process.stdout.write(
          [
            `Stack "${s.stack}" is ready (PostgreSQL ${s.versions.postgres}, PgBouncer ${s.versions.pgbouncer}, Redis ${s.versions.redis}).`,
            `  pooled (PgBouncer):  ${s.pgbouncer.url}`,
            `  direct (PostgreSQL): ${s.postgres.appUrl}`,
            `  superuser:           ${s.postgres.url}`,
            `  PgBouncer console:   ${s.pgbouncer.adminUrl}`,
            `  Redis:               ${s.redis.url}`,
            ...(s.probe ? [`  probe app:           ${s.probe.url}  (/probe /readyz /metrics /stats)`] : []),
            `  data and logs:       ${s.dataDir}`,
            "Edit the stack file to apply changes; Ctrl-C to stop.",
            "",
          ].join("\n"),
        );
      }
    },
    (err: Error) => {
      if (stopping) return;
      // Every failure is told as a sentence with what to do; a stack trace helps nobody running `npm start`.
      if (err instanceof ConfigError || err instanceof MissingBinaryError) say(err.message);
      else say(`could not start the stack: ${err.message}`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    },
  );
}

main();
