/**
 * `npm run toolchain`: builds the Pulumi CLI, its Node.js language host, the Kubernetes
 * provider, a Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and,
 * optionally, pgbouncer_exporter from the Go module proxy, at the versions in toolchain/versions.ts, into a
 * cache outside the repository.
 * A rerun with nothing changed takes seconds.
 *
 *   npm run toolchain                  build what is missing, then report times and sizes
 *   npm run toolchain -- --status      say what is built, build nothing (exit 1 when something is missing)
 *   npm run --silent toolchain -- --print-env    `export` lines that put the binaries in use
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { isMain, runCli } from "../lib/cli.ts";
import { CliUsageError } from "../lib/errors.ts";
import { buildRecipes, formatDuration, isBuilt, readStamp, stopRunningBuilds } from "./build.ts";
import { exportLines, installPlugins, linkPathDir, recipes, toolchainEnv, toolchainPaths, toolchainVersions } from "./index.ts";

const PROJECT_DIR = fileURLToPath(new URL("..", import.meta.url));

type Mode = "build" | "status" | "print-env";

export function parseArgs(argv: readonly string[]): Mode {
  if (argv.length === 0) return "build";
  if (argv.length === 1 && argv[0] === "--status") return "status";
  if (argv.length === 1 && argv[0] === "--print-env") return "print-env";
  throw new CliUsageError(`unknown arguments ${argv.join(" ")}; usage: npm run toolchain [-- --status | --print-env]`);
}

/** Disk use of a folder in bytes (`du`), or undefined when it does not exist. */
function diskUse(dir: string): number | undefined {
  const r = spawnSync("du", ["-sb", dir], { encoding: "utf8" });
  return r.status === 0 ? Number(r.stdout.split("\t")[0]) : undefined;
}

const mib = (n: number | undefined) => (n === undefined ? "absent" : `${(n / 2 ** 20).toFixed(0)} MiB`);

function goEnv(name: string): string {
  return spawnSync("go", ["env", name], { encoding: "utf8" }).stdout?.trim() ?? "";
}

async function main(argv: readonly string[]): Promise<number> {
  const mode = parseArgs(argv);
  const paths = toolchainPaths();
  const versions = toolchainVersions(PROJECT_DIR);
  const all = recipes(versions);
  if (mode === "print-env") {
    console.log(exportLines(toolchainEnv(paths)));
    return 0;
  }
  if (mode === "status") {
    for (const r of all) console.log(`${isBuilt(paths, r) ? "built  " : "missing"} ${r.name} ${r.version}${isBuilt(paths, r) ? ` (cold build ${formatDuration(readStamp(paths, r)?.seconds ?? 0)})` : r.optional ? ` (optional: ${r.optional})` : ""}`);
    return all.every((r) => isBuilt(paths, r) || r.optional !== undefined) ? 0 : 1;
  }
  const log = (line: string) => console.error(`toolchain: ${line}`);
  log(`building into ${paths.root} (Pulumi ${versions.pulumi}, kubernetes provider ${versions.kubernetesProvider}, Kubernetes ${versions.kubernetes}, etcd ${versions.etcd})`);
  const stop = () => {
    stopRunningBuilds();
    process.exit(130);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const started = Date.now();
  const results = await buildRecipes(all, { paths, log });
  installPlugins(paths, versions, log);
  linkPathDir(paths);
  const cold = results.reduce((n, r) => n + r.seconds, 0);
  for (const r of results)
    log(`  ${r.name} ${r.version}: ${r.status === "unavailable" ? `not built (${r.reason})` : `${mib(r.bytes)}, ${r.status === "built" ? "built" : "cold build took"} ${formatDuration(r.seconds)}`}`);
  log(`this run: ${formatDuration((Date.now() - started) / 1000)}; the builds these binaries came from took ${formatDuration(cold)} in all`);
  // Walking the Go caches (gigabytes) takes longer than the whole cached rerun: only after a build.
  const goCaches = results.some((r) => r.status === "built") ? `; Go module cache ${mib(diskUse(goEnv("GOMODCACHE")))}; Go build cache ${mib(diskUse(goEnv("GOCACHE")))}` : "";
  log(`sizes: toolchain ${mib(diskUse(paths.root))} (binaries ${mib(diskUse(paths.bin))})${goCaches}`);
  log(`ready: eval "$(npm run --silent toolchain -- --print-env)" puts them on PATH`);
  return 0;
}

if (isMain(import.meta.url)) runCli(main);
