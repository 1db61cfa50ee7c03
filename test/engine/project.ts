/**
 * The real Pulumi engine on this project, for the engine tests: the toolchain's CLI, language host and
 * providers, a project folder of its own (the repository's program and policy pack linked in, its own
 * copies of Pulumi.yaml and the stack file, which `pulumi stack init` and `config set` write to), its own
 * file backend and PULUMI_HOME (the toolchain's plugins linked in). Nothing is downloaded.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isBuilt } from "../../toolchain/build.ts";
import { providerPlugins, recipes, toolchainEnv, toolchainPaths, toolchainVersions } from "../../toolchain/index.ts";
import { PROJECT_DIR } from "../k8s/fixtures.ts";

const paths = toolchainPaths();
const versions = toolchainVersions(PROJECT_DIR);

/** Why the engine tests cannot run here, or undefined when the toolchain has everything they use. */
export function engineMissing(): string | undefined {
  const needed = recipes(versions).filter((r) => r.name.startsWith("pulumi"));
  const missing = needed.filter((r) => !isBuilt(paths, r)).map((r) => `${r.name} ${r.version}`);
  return missing.length > 0 ? `the toolchain in ${paths.root} lacks ${missing.join(", ")}: run \`npm run toolchain\` (bash .ci/run does)` : undefined;
}

export const PASSPHRASE = "engine-test";

export interface PulumiResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface EngineProject {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Runs the toolchain's `pulumi` in the project folder; resolves when it exits. */
  pulumi(args: readonly string[], extraEnv?: NodeJS.ProcessEnv): Promise<PulumiResult>;
  remove(): void;
}

/** Links shared with the repository: the program, its templates, the probe's env contract, the pack. */
const LINKED = ["infra", "lib", "configs", "app-probe", "policy", "test", "node_modules", "package.json", "tsconfig.json"];

export interface EngineProjectOptions {
  /** The stack file the project starts with; default the repository's Pulumi.dev.yaml. */
  stackFile?: string;
  /** Another program to run instead of Pulumi.yaml's `main` (a path from the project root). */
  main?: string;
}

export function engineProject(opts: EngineProjectOptions = {}): EngineProject {
  const dir = mkdtempSync(join(tmpdir(), "pooling-engine-"));
  for (const name of LINKED) symlinkSync(join(PROJECT_DIR, name), join(dir, name));
  const projectYaml = readFileSync(join(PROJECT_DIR, "Pulumi.yaml"), "utf8");
  writeFileSync(join(dir, "Pulumi.yaml"), opts.main ? projectYaml.replace(/^main: .*$/m, `main: ${opts.main}`) : projectYaml);
  const stackFile = opts.stackFile ?? join(PROJECT_DIR, "Pulumi.dev.yaml");
  // Without the encryptionsalt a user's own `npm run up` writes into it: that salt belongs to their
  // passphrase, and this project's stack is created anew with the tests' one.
  writeFileSync(join(dir, "Pulumi.dev.yaml"), readFileSync(stackFile, "utf8").replace(/^encryptionsalt: .*\n?/m, ""));
  const home = join(dir, ".pulumi-home");
  mkdirSync(home);
  // The plugins the toolchain installed, without sharing its workspace files (selected stacks) or locks.
  symlinkSync(join(paths.pulumiHome, "plugins"), join(home, "plugins"));
  mkdirSync(join(dir, ".state"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...toolchainEnv(paths),
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${join(dir, ".state")}`,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PULUMI_SKIP_CONFIRMATIONS: "true",
    NO_COLOR: "1",
  };
  return {
    dir,
    env,
    pulumi: (args, extraEnv = {}) => runPulumi(dir, args, { ...env, ...extraEnv }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const running = new Set<ReturnType<typeof spawn>>();
/** Stops every pulumi a test started and has not seen exit (afterAll, for a failing or timed-out test). */
export function stopPulumis(): void {
  for (const child of running) child.kill("SIGINT");
}

function runPulumi(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<PulumiResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(paths.bin, "pulumi"), ["--non-interactive", "--color", "never", ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

export { providerPlugins, versions };
