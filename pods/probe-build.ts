/**
 * The probe app, built as app-probe/Dockerfile builds its image: `npm ci` with dev dependencies and
 * `tsc -p tsconfig.build.json` in a build stage, a production-only `npm ci --omit=dev` in a deps stage,
 * and a runtime folder holding only node_modules, dist and package.json (root-owned, read-only to the
 * app). The folder is cached under the project's .local/pods/, keyed by a hash of every build input and
 * the Node.js version, so an unchanged app is built once.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { StandInError } from "./errors.ts";
import { run } from "./proc.ts";

/** What the Dockerfile COPYs into its build stages. */
const INPUTS = ["package.json", "package-lock.json", "tsconfig.build.json", "src"];

function filesUnder(dir: string, root = dir): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? filesUnder(p, root) : [relative(root, p)];
    });
}

/** The cache key: a hash of the inputs' paths and contents and of the Node.js that runs the app. */
export function probeBuildKey(appDir: string, nodeVersion: string): string {
  const h = createHash("sha256").update(`node ${nodeVersion}\n`);
  for (const input of INPUTS) {
    const p = join(appDir, input);
    const files = statSync(p).isDirectory() ? filesUnder(p).map((f) => join(input, f)) : [input];
    for (const f of files) h.update(`${f}\n`).update(readFileSync(join(appDir, f))).update("\n");
  }
  return h.digest("hex").slice(0, 16);
}

export function probeAppDir(cacheDir: string, key: string): string {
  return join(cacheDir, `probe-${key}`, "app");
}

const NPM_FLAGS = ["--ignore-scripts", "--no-audit", "--no-fund"];

/** Builds the app into `probeAppDir(cacheDir, key)` unless a complete build is there; returns that folder. */
export async function buildProbeApp(opts: { appDir: string; cacheDir: string; key: string; log?: (line: string) => void }): Promise<string> {
  const final = join(opts.cacheDir, `probe-${opts.key}`);
  if (existsSync(join(final, "app", ".complete"))) return join(final, "app");
  mkdirSync(opts.cacheDir, { recursive: true });
  const tmp = mkdtempSync(join(opts.cacheDir, "probe-build-"));
  try {
    opts.log?.(`building the probe app as app-probe/Dockerfile does (cache ${final})`);
    const build = join(tmp, "build");
    mkdirSync(build);
    for (const input of INPUTS) cpSync(join(opts.appDir, input), join(build, input), { recursive: true });
    await run("npm", ["ci", ...NPM_FLAGS], { cwd: build, timeoutMs: 600_000 });
    await run("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: build, timeoutMs: 600_000 });
    const app = join(tmp, "app");
    mkdirSync(app);
    for (const f of ["package.json", "package-lock.json"]) cpSync(join(build, f), join(app, f));
    await run("npm", ["ci", "--omit=dev", ...NPM_FLAGS], { cwd: app, timeoutMs: 600_000 });
    cpSync(join(build, "dist"), join(app, "dist"), { recursive: true });
    // The runtime stage has no lockfile; keep the folder to what the image holds.
    rmSync(join(app, "package-lock.json"));
    rmSync(build, { recursive: true, force: true });
    writeFileSync(join(app, ".complete"), `${new Date().toISOString()}\n`);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    return join(final, "app");
  } catch (err) {
    throw new StandInError(`the probe app's build failed: ${(err as Error).message}`, { cause: err });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
