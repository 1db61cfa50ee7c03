/**
 * The supervisor daemon `npm run cluster -- up` starts in a session of its own: it runs the control plane
 * until SIGTERM (or SIGINT), then stops it in reverse order and removes run.json. Its stdout and stderr
 * are logs/daemon.log, which `up` follows for its progress lines. Not a command for people: its one
 * argument is the JSON DaemonConfig `up` gives it.
 */
import { readFileSync } from "node:fs";
import { runCli } from "../lib/cli.ts";
import { CliUsageError, describeCliError } from "../lib/errors.ts";
import { ServiceStartError } from "../local/errors.ts";
import { processRef } from "../lib/proc.ts";
import { findClusterBinaries } from "./binaries.ts";
import { ControlPlane, StartInterrupted } from "./control-plane.ts";
import { DAEMON_PREFIX, type DaemonConfig } from "./daemon-config.ts";
import { clusterLayout } from "./layout.ts";
import { liveRun, readRunFile, removeRunFile, writeRunFile } from "./run-file.ts";

const prefix = () => `${new Date().toISOString()} ${DAEMON_PREFIX}`;
const say = (m: string) => process.stdout.write(`${prefix()}${m}\n`);

function lastLines(file: string, n: number): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("--- ")).slice(-n);
  } catch {
    return [];
  }
}

async function main(config: DaemonConfig): Promise<number> {
  const layout = clusterLayout(config.dataDir);
  const self = processRef(process.pid)!;
  const other = liveRun(layout);
  // Two `up`s at the same moment: the second daemon to get here leaves the folder to the first.
  if (other && other.daemon.pid !== process.pid) {
    say(`another daemon (pid ${other.daemon.pid}) runs on ${layout.dataDir}; leaving it be`);
    return 0;
  }
  writeRunFile(layout, { daemon: self, ports: config.ports, services: {} });
  const plane = new ControlPlane({ layout, ports: config.ports, bins: findClusterBinaries(config.binDir), say });
  let exiting = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    say(`${signal}: stopping the control plane`);
    void plane
      .stop()
      .catch((err: unknown) => say(`stop failed: ${describeCliError(err)}`))
      .finally(() => {
        removeRunFile(layout);
        say("stopped");
        process.exit(0);
      });
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  // No terminal to hang up: a stray SIGHUP must not take the cluster down.
  process.on("SIGHUP", () => say("SIGHUP ignored; stop with `npm run cluster -- down`"));
  try {
    await plane.start();
  } catch (err) {
    if (err instanceof StartInterrupted || exiting) return new Promise<number>(() => undefined); // shutdown() exits
    // The component's last words say why far better than "exited during start-up" does.
    if (err instanceof ServiceStartError) for (const line of lastLines(err.logFile, 8)) say(`  ${err.service}: ${line}`);
    say(describeCliError(err));
    await plane.stop();
    removeRunFile(layout);
    return 1;
  }
  const run = readRunFile(layout);
  if (run) writeRunFile(layout, { ...run, ready: true, failed: plane.failed });
  say("control plane ready");
  return new Promise<number>(() => undefined); // runs until a signal
}

runCli(
  ([arg]) => {
    if (arg === undefined) throw new CliUsageError("cluster/daemon.ts is started by `npm run cluster -- up`, not by hand");
    return main(JSON.parse(arg) as DaemonConfig);
  },
  { exit: true, prefix },
);
