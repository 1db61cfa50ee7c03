/**
 * `npm run pods -- [--stack dev | --config-file FILE] [--json FILE] [--short]`: renders the stack's
 * manifests, runs every pod of every workload on this machine in Linux namespaces (Debian's binaries
 * standing in for the images), exercises it, stops it as the kubelet would, and reports. A verification
 * layer, not a product feature: what it cannot stand in for (images, scheduler, CNI, cgroup limits) is in
 * docs/pods.md. Needs root (namespaces, mounts, nftables). Exits non-zero when a pod never gets Ready or a
 * check fails.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isMain, parseCommandLine, runCli } from "../lib/cli.ts";
import { hostProblems, requirePrerequisites } from "./prerequisites.ts";
import { runPods, type PodsReport } from "./run.ts";

const USAGE = `Usage: npm run pods -- [--stack NAME | --config-file FILE] [--manifests DIR] [--json FILE] [--short] [--keep DIR]

Runs every pod the stack's manifests describe on this machine, in Linux namespaces (needs root), with
Debian's postgres, pgbouncer, redis-server and Node.js standing in for the images; then checks the probe
end to end, a reload without restart, a PgBouncer rollout inside the connection budget, a drain under
load, a PostgreSQL pod restart that keeps its data, the NetworkPolicies, and that every container ends
within its grace period.

  --manifests DIR  run the manifests in DIR (for example what \`npm run up -- --render-to DIR\` had the
                   Pulumi engine write) instead of rendering the stack; the stack file is still what the
                   checks that change the stack re-render
  --json FILE  write {"pods":[...],"checks":[...],"standIns":[...]} to FILE
  --short      lighter load phases (the form npm test runs)
  --keep DIR   keep the run's files (container logs, volumes) in DIR instead of a temporary folder`;

export const PROJECT_DIR = fileURLToPath(new URL("..", import.meta.url));

function summary(report: PodsReport): string {
  const lines = report.pods.map(
    (p) =>
      `  ${p.ready ? "ready" : "NOT READY"}  ${p.name.padEnd(28)} ready in ${p.readySeconds?.toFixed(1) ?? "-"} s, restarts ${p.restarts}, stopped in ${p.terminationSeconds?.toFixed(1) ?? "-"} s of ${p.graceSeconds} s`,
  );
  const checks = report.checks.map((c) => `  ${c.ok ? "ok  " : "FAIL"}  ${c.name}: ${c.detail}`);
  const standIns = report.standIns.map((s) => `  ${s.image} → ${s.standIn ?? `not run: ${s.reason}`}`);
  return ["Stand-ins:", ...standIns, "Pods:", ...lines, "Checks:", ...checks].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const args = parseCommandLine(
    {
      args: argv,
      options: { stack: { type: "string" }, "config-file": { type: "string" }, json: { type: "string" }, short: { type: "boolean" }, keep: { type: "string" }, manifests: { type: "string" }, help: { type: "boolean", short: "h" } },
    },
    USAGE,
  ).values;
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // Before anything is rendered or created: root and the host tools, all missing ones named at once.
  requirePrerequisites(hostProblems());
  mkdirSync(join(PROJECT_DIR, ".local"), { recursive: true });
  const stackFile = args["config-file"] ? resolve(args["config-file"]) : join(PROJECT_DIR, `Pulumi.${args.stack ?? "dev"}.yaml`);
  const runDir = args.keep ? resolve(args.keep) : mkdtempSync(join(PROJECT_DIR, ".local", "pods-run-"));
  mkdirSync(runDir, { recursive: true });
  const log = (line: string) => process.stderr.write(`[pods ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  try {
    const report = await runPods({ projectDir: PROJECT_DIR, stackFile, runDir, short: args.short ?? false, log, ...(args.manifests ? { manifestsDir: resolve(args.manifests) } : {}) });
    process.stderr.write(`${summary(report)}\n`);
    if (args.json) writeFileSync(resolve(args.json), `${JSON.stringify(report, null, 2)}\n`);
    return report.pods.every((p) => p.ready) && report.checks.every((c) => c.ok) ? 0 : 1;
  } finally {
    if (!args.keep) rmSync(runDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) runCli(main);
