/**
 * Runs the toolchain's recipes in turn: a recipe whose binaries and stamp are there for the same version
 * is skipped in milliseconds; any other is built in its own work folder, with progress while Go runs and
 * its wall time recorded in the stamp.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PoolingError } from "../lib/errors.ts";
import type { ToolchainPaths } from "./paths.ts";
import type { GoRunOptions, Recipe, RecipeContext } from "./recipe.ts";

/** A `go` command of a recipe exited non-zero, or could not start. */
export class ToolchainBuildError extends PoolingError {
  readonly code = "POOLING_TOOLCHAIN_BUILD";
  constructor(
    readonly recipe: string,
    readonly step: string,
    detail: string,
  ) {
    super(`building ${recipe} failed while ${step}:\n${detail}`);
  }
}

export interface Stamp {
  version: string;
  binaries: string[];
  /** Wall time of the build that made these binaries. */
  seconds: number;
  builtAt: string;
}

export interface RecipeResult {
  name: string;
  version: string;
  /**
   * `cached`: stamp and binaries were there; `built`: compiled in this run; `unavailable`: an optional
   * recipe whose build failed (`reason`), nothing stamped.
   */
  status: "built" | "cached" | "unavailable";
  reason?: string;
  /** This run's wall time for a built recipe; the stamped build's for a cached one. */
  seconds: number;
  /** Bytes of this recipe's binaries. */
  bytes: number;
}

export interface BuildOptions {
  paths: ToolchainPaths;
  log: (line: string) => void;
  /** Environment for `go`; the builder adds GOFLAGS=-buildvcs=false (no VCS in a wrapper) and GOTOOLCHAIN=local. */
  env?: NodeJS.ProcessEnv;
  /** How often a running step reports it is still going. */
  progressEveryMs?: number;
}

const stampFile = (paths: ToolchainPaths, recipe: Recipe) => join(paths.work, recipe.name, ".stamp.json");

export function readStamp(paths: ToolchainPaths, recipe: Recipe): Stamp | undefined {
  try {
    return JSON.parse(readFileSync(stampFile(paths, recipe), "utf8")) as Stamp;
  } catch {
    return undefined;
  }
}

/** True when this recipe's binaries are built for its version and nothing needs doing. */
export function isBuilt(paths: ToolchainPaths, recipe: Recipe): boolean {
  const stamp = readStamp(paths, recipe);
  return stamp?.version === recipe.version && recipe.binaries.every((b) => existsSync(join(paths.bin, b)));
}

const sizeOf = (paths: ToolchainPaths, recipe: Recipe) => recipe.binaries.reduce((n, b) => n + (statSync(join(paths.bin, b), { throwIfNoEntry: false })?.size ?? 0), 0);

export async function buildRecipes(recipes: readonly Recipe[], opts: BuildOptions): Promise<RecipeResult[]> {
  const results: RecipeResult[] = [];
  for (const [i, recipe] of recipes.entries()) {
    const tag = `[${i + 1}/${recipes.length}] ${recipe.name} ${recipe.version}`;
    if (isBuilt(opts.paths, recipe)) {
      opts.log(`${tag}: built already`);
      results.push({ name: recipe.name, version: recipe.version, status: "cached", seconds: readStamp(opts.paths, recipe)?.seconds ?? 0, bytes: sizeOf(opts.paths, recipe) });
      continue;
    }
    opts.log(`${tag}: building`);
    const started = Date.now();
    const workDir = join(opts.paths.work, recipe.name);
    mkdirSync(workDir, { recursive: true });
    mkdirSync(opts.paths.bin, { recursive: true });
    try {
      await recipe.build(recipeContext(recipe, workDir, opts, tag));
    } catch (err) {
      if (recipe.optional === undefined || !(err instanceof ToolchainBuildError)) throw err;
      // go's own words: its last "go: " line (a module the proxy refuses), else its last line (a compile error).
      const lines = err.message.trim().split("\n");
      const reason = (lines.findLast((l) => l.startsWith("go: ")) ?? lines.at(-1)!).trim();
      opts.log(`${tag}: not built, and optional (${recipe.optional}): ${reason}`);
      results.push({ name: recipe.name, version: recipe.version, status: "unavailable", reason, seconds: 0, bytes: 0 });
      continue;
    }
    const missing = recipe.binaries.filter((b) => !existsSync(join(opts.paths.bin, b)));
    if (missing.length > 0) throw new ToolchainBuildError(recipe.name, "checking its output", `the build finished without ${missing.join(", ")} in ${opts.paths.bin}`);
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const stamp: Stamp = { version: recipe.version, binaries: [...recipe.binaries], seconds, builtAt: new Date().toISOString() };
    writeFileSync(stampFile(opts.paths, recipe), `${JSON.stringify(stamp, null, 2)}\n`);
    opts.log(`${tag}: built in ${formatDuration(seconds)}`);
    results.push({ name: recipe.name, version: recipe.version, status: "built", seconds, bytes: sizeOf(opts.paths, recipe) });
  }
  return results;
}

function recipeContext(recipe: Recipe, workDir: string, opts: BuildOptions, tag: string): RecipeContext {
  return {
    workDir,
    binDir: opts.paths.bin,
    go: (args, goOpts) => runGo(recipe.name, args, goOpts, opts, tag),
    write(relPath, content) {
      const file = join(workDir, relPath);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
    },
    progress: (message) => opts.log(`${tag}: ${message}`),
    async countPackages(cwd, pkgs, env) {
      const out = await runGo(recipe.name, ["list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ...pkgs], { cwd, step: "counting packages", ...(env ? { env } : {}) }, { ...opts, log: () => undefined }, tag);
      return out.split("\n").filter(Boolean).length;
    },
  };
}

/** The processes builds have running, so an interrupted `npm run toolchain` stops them too. */
const running = new Set<ReturnType<typeof spawn>>();
export function stopRunningBuilds(): void {
  for (const child of running) child.kill("SIGTERM");
}

function runGo(recipe: string, args: readonly string[], goOpts: GoRunOptions, opts: BuildOptions, tag: string): Promise<string> {
  const env = { ...(opts.env ?? process.env), GOFLAGS: "-buildvcs=false", GOTOOLCHAIN: "local", ...goOpts.env };
  opts.log(`${tag}: ${goOpts.step}`);
  return new Promise((resolve, reject) => {
    const child = spawn("go", args, { cwd: goOpts.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    const started = Date.now();
    let stdout = "";
    let lines = 0;
    const tail: string[] = [];
    let partial = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      const chunk = (partial + d.toString()).split("\n");
      partial = chunk.pop() ?? "";
      for (const line of chunk) {
        // `go build -v` names each package it compiles on a line of its own; "go: downloading …" and
        // compiler messages are not packages.
        if (goOpts.total === undefined || /^[^\s#:]+$/.test(line)) lines++;
        tail.push(line);
        if (tail.length > 30) tail.shift();
      }
    });
    // `go build -v` and `go mod` print one line per package compiled or module fetched: how far it is.
    const timer = setInterval(() => opts.log(`${tag}: ${goOpts.step}: ${goOpts.total ? `${lines} of up to ${goOpts.total} packages compiled` : `${lines} packages or modules so far`}, ${formatDuration((Date.now() - started) / 1000)}`), opts.progressEveryMs ?? 30_000);
    const finish = (err?: Error) => {
      clearInterval(timer);
      running.delete(child);
      if (err) reject(err);
      else resolve(stdout);
    };
    child.on("error", (err) => finish(new ToolchainBuildError(recipe, goOpts.step, `go could not be started: ${err.message}. Install Go 1.25 or newer.`)));
    child.on("close", (code, signal) => {
      if (partial) tail.push(partial);
      if (code === 0) finish();
      else finish(new ToolchainBuildError(recipe, goOpts.step, `\`go ${args.join(" ")}\` in ${goOpts.cwd} exited with ${signal ?? code}; its last lines:\n${tail.join("\n")}`));
    });
  });
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
