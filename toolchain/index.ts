/**
 * The toolchain as the rest of the project sees it: the recipes at the pinned versions, where the
 * binaries are, the environment that puts them in use, and the Pulumi CLI a command should run (the
 * user's own on PATH first).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { delimiter, join } from "node:path";
import { PoolingError } from "../lib/errors.ts";
import { isBuilt } from "./build.ts";
import { toolchainPaths, type ToolchainPaths } from "./paths.ts";
import type { Recipe } from "./recipe.ts";
import { pgbouncerExporter } from "./recipes/exporters.ts";
import { pqConsole } from "./recipes/standins.ts";
import { etcd, kubernetesControlPlane } from "./recipes/kubernetes.ts";
import { kubernetesProvider } from "./recipes/providers.ts";
import { languageHost, pulumiCli } from "./recipes/pulumi.ts";
import { toolchainVersions, type ToolchainVersions } from "./versions.ts";

export { toolchainPaths, toolchainVersions };
export type { ToolchainPaths, ToolchainVersions };

export function recipes(v: ToolchainVersions): Recipe[] {
  return [pulumiCli(v.pulumi), languageHost(v.pulumi), kubernetesProvider(v.kubernetesProvider), etcd(v.etcd), kubernetesControlPlane(v.kubernetes), pgbouncerExporter(v.pgbouncerExporter), pqConsole(v.pgbouncerExporter)];
}

/** The resource plugins the CLI must find without downloading: name, version, binary. */
export function providerPlugins(v: ToolchainVersions): { name: string; version: string; binary: string }[] {
  return [{ name: "kubernetes", version: v.kubernetesProvider, binary: "pulumi-resource-kubernetes" }];
}

/**
 * The environment that puts the toolchain in use: its path folder first on PATH (pulumi finds
 * pulumi-language-nodejs there), its own PULUMI_HOME (the plugin folder the providers
 * were installed into), and no plugin download or update check, which would fail here anyway.
 */
export function toolchainEnv(paths: ToolchainPaths, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    PATH: [paths.path, env.PATH ?? ""].filter(Boolean).join(delimiter),
    PULUMI_HOME: paths.pulumiHome,
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
}

/** Links in `paths.path` to every built binary except the providers (see ToolchainPaths.path). */
export function linkPathDir(paths: ToolchainPaths): void {
  rmSync(paths.path, { recursive: true, force: true });
  mkdirSync(paths.path, { recursive: true });
  for (const name of readdirSync(paths.bin)) if (!name.startsWith("pulumi-resource-")) symlinkSync(join(paths.bin, name), join(paths.path, name));
}

/** `export` lines for a POSIX shell, for `eval "$(npm run --silent toolchain -- --print-env)"`. */
export function exportLines(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `export ${k}='${v.replaceAll("'", `'\\''`)}'`)
    .join("\n");
}

/** `pulumi plugin install` could not install a provider the toolchain built. */
export class PluginInstallError extends PoolingError {
  readonly code = "POOLING_TOOLCHAIN_PLUGIN_INSTALL";
}

/**
 * Installs the built providers into the toolchain's PULUMI_HOME with the CLI's own
 * `pulumi plugin install resource NAME VERSION --file BINARY`; a plugin already installed from the same
 * binary (same size, not older) is left alone.
 */
export function installPlugins(paths: ToolchainPaths, v: ToolchainVersions, log: (line: string) => void): void {
  const env = { ...process.env, ...toolchainEnv(paths) };
  for (const p of providerPlugins(v)) {
    const built = join(paths.bin, p.binary);
    const installed = join(paths.pulumiHome, "plugins", `resource-${p.name}-v${p.version}`, p.binary);
    const a = statSync(built);
    const b = statSync(installed, { throwIfNoEntry: false });
    if (b && b.size === a.size && b.mtimeMs >= a.mtimeMs) continue;
    log(`installing the ${p.name} ${p.version} provider into ${paths.pulumiHome}`);
    const r = spawnSync(join(paths.bin, "pulumi"), ["plugin", "install", "resource", p.name, p.version, "--file", built, "--reinstall"], { env, encoding: "utf8" });
    if (r.status !== 0) throw new PluginInstallError(`pulumi plugin install resource ${p.name} ${p.version} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  }
}

export interface PulumiCommand {
  /** The executable to run. */
  bin: string;
  /** Where it came from: the caller's PATH, or the toolchain's cache. */
  source: "path" | "toolchain";
  /** Environment to add when running it (the toolchain's; nothing for the user's own CLI). */
  env: Record<string, string>;
}

/** The Pulumi toolchain is needed and not built. */
export class ToolchainMissingError extends PoolingError {
  readonly code = "POOLING_TOOLCHAIN_MISSING";
}

/**
 * The Pulumi CLI to run: one on PATH wins (a user who has Pulumi keeps using theirs); else the
 * toolchain's, when its CLI, language host and providers are all built; else a ToolchainMissingError that
 * says how to get either.
 */
export function findPulumi(projectDir: string, env: NodeJS.ProcessEnv = process.env, onPath = (name: string) => spawnSync(name, ["version"], { stdio: "ignore", env }).error === undefined): PulumiCommand {
  if (env.POOLING_USE_TOOLCHAIN !== "1" && onPath("pulumi")) return { bin: "pulumi", source: "path", env: {} };
  const paths = toolchainPaths(env);
  const v = toolchainVersions(projectDir);
  const needed = recipes(v).filter((r) => r.name.startsWith("pulumi"));
  const missing = needed.filter((r) => !isBuilt(paths, r)).map((r) => r.name);
  if (missing.length > 0)
    throw new ToolchainMissingError(`no \`pulumi\` on PATH, and the toolchain in ${paths.root} lacks ${missing.join(", ")}. Install the Pulumi CLI, or build it here with \`npm run toolchain\`.`);
  return { bin: join(paths.bin, "pulumi"), source: "toolchain", env: toolchainEnv(paths, env) };
}

