/**
 * `npm run cluster -- up | down [--purge] | status`: the local control plane (etcd, kube-apiserver, and
 * kube-controller-manager and kube-scheduler when built) on loopback, run by a daemon in the background.
 * Progress goes to stderr, the result to stdout.
 */
import { parseCommandLine, runCli } from "../lib/cli.ts";
import { CliUsageError } from "../lib/errors.ts";
import { fileURLToPath } from "node:url";
import { clusterDown, clusterReadiness, clusterUp, DEFAULT_PORTS, PORT_ENV, type ClusterInfo } from "./index.ts";
import { resolveOptions } from "./options.ts";
import { liveRun } from "./run-file.ts";

const PROJECT_DIR = fileURLToPath(new URL("..", import.meta.url));

const USAGE = `Usage: npm run cluster -- <up | down [--purge] | status> [--data-dir DIR]

  up       start etcd and kube-apiserver (and kube-controller-manager, kube-scheduler when built) on
           127.0.0.1 under a supervisor daemon; returns once the API server is ready. A second \`up\`
           while one runs says so and exits 0.
  down     stop them (API server clients first, etcd last); --purge also deletes the data folder.
  status   whether the API server answers, and its version: exit 0 when ready, 1 otherwise.

The data folder (default .local/cluster) holds the kubeconfig (kubeconfig, mode 0600), certificates
(pki/), etcd's data (etcd/) and the logs (logs/*.log). Ports, all on 127.0.0.1, each overridable:
${Object.entries(PORT_ENV)
  .map(([k, env]) => `  ${env}=${DEFAULT_PORTS[k as keyof typeof DEFAULT_PORTS]}`)
  .join("\n")}`;

const say = (m: string) => process.stderr.write(`[cluster] ${m}\n`);

function commandLine(argv: string[]) {
  const { positionals, values } = parseCommandLine(
    {
      args: argv,
      allowPositionals: true,
      options: { "data-dir": { type: "string" }, purge: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
    },
    USAGE,
  );
  if (values.help) return { command: "help" as const, ...values };
  const [command, ...rest] = positionals;
  if (command !== "up" && command !== "down" && command !== "status") throw new CliUsageError(`${command === undefined ? "no command" : `unknown command "${command}"`}\n\n${USAGE}`);
  if (rest.length > 0) throw new CliUsageError(`unexpected argument "${rest[0]}"\n\n${USAGE}`);
  if (values.purge && command !== "down") throw new CliUsageError(`--purge goes with down, not ${command}`);
  return { command, ...values };
}

function upReport(i: ClusterInfo): string {
  // From this process's start (performance.now()'s origin), module loading included: what the user waits.
  const seconds = (performance.now() / 1000).toFixed(1);
  return [
    i.alreadyRunning ? `The cluster was already running; ready after ${seconds}s.` : `The cluster is ready: ${seconds}s from \`up\` to /readyz.`,
    `  API server:  ${i.server} (Kubernetes ${i.version})`,
    `  kubeconfig:  ${i.kubeconfig}`,
    ...Object.entries(i.components).map(([name, state]) => `  ${`${name}:`.padEnd(25)}${state}`),
    `  logs:        ${i.dataDir}/logs`,
    `Use it with: export KUBECONFIG=${i.kubeconfig}`,
    "",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const args = commandLine(argv);
  const options = { projectDir: PROJECT_DIR, dataDir: args["data-dir"], log: say };
  switch (args.command) {
    case "help":
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case "up": {
      // The daemon is in its own session: leaving `up` early leaves the cluster starting, so say how to stop it.
      process.once("SIGINT", () => {
        say("interrupted: the cluster goes on starting in the background; `npm run cluster -- down` stops it");
        process.exit(130);
      });
      process.stdout.write(upReport(await clusterUp(options)));
      return 0;
    }
    case "down":
      await clusterDown({ ...options, purge: args.purge });
      return 0;
    case "status": {
      const { layout } = resolveOptions(options);
      const s = await clusterReadiness(layout);
      const daemon = liveRun(layout)?.daemon.pid;
      process.stdout.write(
        s.ready ? `ready: Kubernetes ${s.version} at ${s.server} (supervisor pid ${daemon ?? "unknown"}; kubeconfig ${layout.kubeconfig})\n` : `not ready: ${s.reason}\n`,
      );
      return s.ready ? 0 : 1;
    }
  }
  return 2;
}

runCli(main, { exit: true });
