/**
 * `npm run up | preview | down`: the state folder of the file backend, the kind cluster (created from
 * kind/cluster.yaml when missing, its nodes pointed at the local registry), the `dev` stack on that
 * backend, then `pulumi up | preview | destroy --refresh`. Extra arguments go to Pulumi:
 * `npm run up -- --yes`.
 *
 * `--cluster local` targets the control plane `npm run cluster` runs here instead (started when it is not
 * running): no kind, no Docker; the probe's image is the one the node stands in. `up --render-to DIR`
 * runs the real `pulumi up` with the Kubernetes provider writing every object as YAML into DIR (no
 * cluster), on a state backend of its own under `.local/`, for `npm run pods -- --manifests DIR`.
 * The Pulumi CLI is the one on PATH, else the one `npm run toolchain` built.
 *
 * PULUMI_CONFIG_PASSPHRASE encrypts the stack's secrets. When neither it nor PULUMI_CONFIG_PASSPHRASE_FILE
 * is set, the dev default "pooling-dev" is used: fine for a throwaway kind cluster, never for anything else.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { clusterKubeconfigPath } from "../cluster/index.ts";
import { CliUsageError, CommandFailedError, PoolingError, PrerequisitesMissingError } from "../lib/errors.ts";
import { isMain, runCli } from "../lib/cli.ts";
import { KIND, registryCertsDir, registryHostsToml } from "../infra/k8s/kind.ts";
import { NODE_VERSIONS_ENV } from "../infra/k8s/target.ts";
import { readStackFile, stackFilePath } from "../infra/config/file.ts";
import { findPulumi, type PulumiCommand } from "../toolchain/index.ts";

export const PROJECT_DIR = fileURLToPath(new URL("..", import.meta.url));
export const STACK = "dev";
export const DEV_PASSPHRASE = "pooling-dev";

export const COMMANDS = { up: "up", preview: "preview", down: "destroy" } as const;
export type Command = keyof typeof COMMANDS;

const TOOLS = {
  pulumi: "the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/ (or build it here: npm run toolchain)",
  kind: "kind, for the local cluster: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
  docker: "Docker, which kind and the probe image build need: https://docs.docker.com/engine/install/",
} as const;
export type Tool = keyof typeof TOOLS;

/** A command could not be started at all (not found, not executable). */
export class CommandStartError extends PoolingError {
  readonly code = "POOLING_COMMAND_NOT_STARTED";
  constructor(
    readonly command: string,
    cause: Error,
  ) {
    super(`${command}: ${cause.message}`, { cause });
  }
}

/** Pulumi.yaml cannot be read or parsed, so the backend it names is unknown. */
export class ProjectFileError extends PoolingError {
  readonly code = "POOLING_PROJECT_FILE_INVALID";
  constructor(
    readonly file: string,
    cause: Error,
  ) {
    super(`${file} could not be read as YAML: ${cause.message}`, { cause });
  }
}

/** The file backend's state folder could not be created; Pulumi would fail on it ("dir must exist"). */
export class BackendDirError extends PoolingError {
  readonly code = "POOLING_BACKEND_DIR_UNCREATABLE";
  constructor(
    readonly dir: string,
    readonly source: string,
    cause: Error,
  ) {
    super(`the Pulumi state folder ${dir} (from ${source}) could not be created: ${cause.message}. Create it, or point ${source} at a folder you can write.`, { cause });
  }
}

export const CLUSTERS = ["kind", "local"] as const;
export type Cluster = (typeof CLUSTERS)[number];

export interface ParsedCommand {
  command: Command;
  /** `--cluster kind|local`; kind when not given. */
  cluster: Cluster;
  /** `up --render-to DIR`: render the stack's objects into DIR instead of applying them. */
  renderTo?: string;
  pulumiArgs: string[];
}

const USAGE = `usage: tsx scripts/pulumi.ts <${Object.keys(COMMANDS).join("|")}> [--cluster ${CLUSTERS.join("|")}] [--render-to DIR] [pulumi arguments]`;

/** The script's own flags, taken out wherever they stand before `--`; everything else goes to Pulumi. */
export function parseCommand(argv: readonly string[]): ParsedCommand {
  const [command, ...rest] = argv;
  if (!command || !(command in COMMANDS)) throw new CliUsageError(USAGE);
  const out: ParsedCommand = { command: command as Command, cluster: "kind", pulumiArgs: [] };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === "--") {
      out.pulumiArgs.push(...rest.slice(i));
      break;
    }
    const own = /^--(cluster|render-to)(?:=(.*))?$/.exec(arg);
    if (!own) {
      out.pulumiArgs.push(arg);
      continue;
    }
    const value = own[2] ?? rest[++i];
    if (value === undefined || value === "") throw new CliUsageError(`--${own[1]} needs a value; ${USAGE}`);
    if (own[1] === "render-to") out.renderTo = resolve(value);
    else if ((CLUSTERS as readonly string[]).includes(value)) out.cluster = value as Cluster;
    else throw new CliUsageError(`--cluster ${value} is not a cluster; use ${CLUSTERS.join(" or ")}`);
  }
  if (out.renderTo !== undefined && out.command !== "up") throw new CliUsageError(`--render-to goes with up only; ${USAGE}`);
  return out;
}

/** The tools a command on kind needs that are not on PATH (pulumi: nor in the toolchain), each with where to get it. */
export function missingTools(command: Command, has: (tool: Tool) => boolean): string[] {
  const needed: Tool[] = command === "down" ? ["pulumi", "kind"] : ["pulumi", "kind", "docker"];
  return needed.filter((t) => !has(t)).map((t) => `\`${t}\` was not found on PATH. Install ${TOOLS[t]}`);
}

/** The passphrase environment: the caller's, or the documented dev default. */
export function passphraseEnv(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; defaulted: boolean } {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined || env.PULUMI_CONFIG_PASSPHRASE_FILE !== undefined) return { env, defaulted: false };
  return { env: { ...env, PULUMI_CONFIG_PASSPHRASE: DEV_PASSPHRASE }, defaulted: true };
}

/** The backend Pulumi will use and where that was said: PULUMI_BACKEND_URL wins over Pulumi.yaml's `backend.url`. */
export function backendUrl(env: NodeJS.ProcessEnv, projectYaml: string): { url: string; source: string } | undefined {
  // Pulumi treats an empty PULUMI_BACKEND_URL as unset.
  if (env.PULUMI_BACKEND_URL) return { url: env.PULUMI_BACKEND_URL, source: "PULUMI_BACKEND_URL" };
  const doc = parseYaml(projectYaml) as { backend?: { url?: unknown } } | null;
  const url = doc?.backend?.url;
  return typeof url === "string" && url !== "" ? { url, source: "Pulumi.yaml's backend.url" } : undefined;
}

/**
 * The folder a `file://` backend URL names; undefined for any other backend. Read the way Pulumi's diy
 * backend reads it (massageBlobPath in pkg/backend/diy/backend.go): the query string dropped, a leading
 * `~` replaced by the home directory, a relative path taken from the working directory.
 */
export function fileBackendDir(url: string, home: string, cwd: string): string | undefined {
  if (!url.startsWith("file://")) return undefined;
  let path = url.slice("file://".length).split("?")[0]!;
  if (path === "~") path = home;
  else if (path.startsWith("~")) path = join(home, path.slice(2));
  return resolve(cwd, path);
}

/**
 * Pulumi's file backend (go-cloud's fileblob) refuses a folder that does not exist ("dir must exist",
 * pulumi/pulumi#15841), so the first `pulumi stack select --create` would fail: create it, private to
 * the user like ~/.pulumi. Returns the folder, or undefined when the backend is not a file:// one.
 */
export function ensureBackendDir(env: NodeJS.ProcessEnv, projectDir: string, home: string): string | undefined {
  const file = join(projectDir, "Pulumi.yaml");
  let backend;
  try {
    backend = backendUrl(env, readFileSync(file, "utf8"));
  } catch (err) {
    throw new ProjectFileError(file, err as Error);
  }
  const dir = backend && fileBackendDir(backend.url, home, projectDir);
  if (!backend || !dir) return undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new BackendDirError(dir, backend.source, err as Error);
  }
  return dir;
}

/** True when the caller already said whether to refresh: `--refresh[=…]`, `-r[=…]`, or `-r` in a cluster like `-yr`. */
export function refreshGiven(pulumiArgs: readonly string[]): boolean {
  const end = pulumiArgs.indexOf("--");
  return (end === -1 ? pulumiArgs : pulumiArgs.slice(0, end)).some((a) => /^--refresh(=|$)/.test(a) || /^-[A-Za-z]*r[A-Za-z]*(=|$)/.test(a));
}

/**
 * The Pulumi command line. `--refresh` reads every resource back first, so the state matches what exists:
 * after `kind delete cluster` and `npm run up` the new, empty cluster gets everything again instead of
 * nothing (the stale state would say it is all there). `down` refreshes too, so destroy acts on what
 * exists rather than on what the state remembers (a registry container removed by hand, a cluster
 * recreated); the cost is one read per resource.
 */
export function pulumiCommandLine(command: Command, pulumiArgs: readonly string[]): string[] {
  return [COMMANDS[command], "--stack", STACK, ...(refreshGiven(pulumiArgs) ? [] : ["--refresh"]), ...pulumiArgs];
}

export interface RunResult {
  status: number;
  stdout: string;
}

/** Everything the script does outside this process, so a test can record it in order. */
export interface Runner {
  run(cmd: string, args: readonly string[], opts: SpawnSyncOptions): RunResult;
  onPath(tool: Tool): boolean;
}

export const spawnRunner: Runner = {
  run(cmd, args, opts) {
    const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
    if (r.error) throw new CommandStartError(`${cmd} ${args.join(" ")}`, r.error);
    return { status: r.status ?? 1, stdout: String(r.stdout ?? "") };
  },
  onPath: (tool) => spawnSync(tool, ["version"], { stdio: "ignore" }).error === undefined,
};

/**
 * The home directory Pulumi expands `~` to: Go's user.Current(), which reads the password database
 * before $HOME, as os.userInfo() does; $HOME only when there is no entry.
 */
export function pulumiHome(): string {
  try {
    return userInfo().homedir;
  } catch {
    return homedir();
  }
}

export interface ScriptDeps {
  runner: Runner;
  /** The Pulumi CLI to run: PATH first, then the toolchain's (toolchain/index.ts). */
  pulumi?: () => PulumiCommand;
  env: NodeJS.ProcessEnv;
  /** What `~` in a file:// backend URL means. */
  home: string;
  /** Where Pulumi.yaml and kind/ are, the commands' working directory, and `.local/` for the kubeconfig. */
  projectDir: string;
  /**
   * `--cluster local`: the versions the node runs in place of the images, as POOLING_NODE_VERSIONS takes
   * them (`postgres=15,pgbouncer=1.18`). Default: what pods/node/versions.ts prints.
   */
  nodeVersions?: () => string;
}

function steps(deps: ScriptDeps) {
  const { runner, projectDir } = deps;
  const run = (cmd: string, args: string[], opts: SpawnSyncOptions = {}) => runner.run(cmd, args, { cwd: projectDir, ...opts });
  const must = (cmd: string, args: string[], opts: SpawnSyncOptions = {}): string => {
    const r = run(cmd, args, { stdio: ["pipe", "pipe", "inherit"], ...opts });
    // Its stderr went to the terminal, above the message.
    if (r.status !== 0) throw new CommandFailedError([cmd, ...args], r.status, undefined);
    return r.stdout;
  };
  const clusters = () => must("kind", ["get", "clusters"]).split("\n").map((s) => s.trim());

  function ensureCluster(): void {
    if (!clusters().includes(KIND.cluster)) {
      console.error(`creating the kind cluster "${KIND.cluster}" from kind/cluster.yaml`);
      must("kind", ["create", "cluster", "--name", KIND.cluster, "--config", join(projectDir, "kind", "cluster.yaml")], { stdio: "inherit" });
    }
    // kind's local-registry guide: each node's containerd resolves localhost:<registryHostPort> to the
    // registry container, by its name on the kind network.
    const dir = registryCertsDir();
    for (const node of must("kind", ["get", "nodes", "--name", KIND.cluster]).split("\n").filter(Boolean)) {
      must("docker", ["exec", node, "mkdir", "-p", dir]);
      must("docker", ["exec", "-i", node, "cp", "/dev/stdin", `${dir}/hosts.toml`], { input: registryHostsToml() });
    }
  }

  /** A kubeconfig for this cluster only, so `pulumi up` never lands on whatever context is current. */
  function writeKubeconfig(): string {
    const dir = join(projectDir, ".local");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `kind-${KIND.cluster}.kubeconfig`);
    writeFileSync(file, must("kind", ["get", "kubeconfig", "--name", KIND.cluster]), { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  }

  return { run, must, clusters, ensureCluster, writeKubeconfig };
}

/** The Pulumi CLI, or the reason there is none (a ToolchainMissingError's message). */
function resolvePulumi(deps: ScriptDeps): PulumiCommand | string {
  const find = deps.pulumi ?? (() => findPulumi(deps.projectDir, deps.env, (name) => deps.runner.onPath(name as Tool)));
  try {
    return find();
  } catch (err) {
    if (err instanceof PoolingError) return err.message;
    throw err;
  }
}

export function main(argv: readonly string[], overrides: Partial<ScriptDeps> = {}): number {
  const deps: ScriptDeps = { runner: spawnRunner, env: process.env, projectDir: PROJECT_DIR, ...overrides, home: overrides.home ?? pulumiHome() };
  const parsed = parseCommand(argv);
  const pulumi = resolvePulumi(deps);
  if (parsed.cluster === "local" || parsed.renderTo !== undefined) {
    if (typeof pulumi === "string") throw new PrerequisitesMissingError(`npm run ${parsed.command}`, [pulumi]);
    return offKind(parsed, deps, pulumi);
  }
  const existing = existingCluster(deps.projectDir);
  if (existing) return onExisting(parsed, deps, pulumi, existing);
  const missing = missingTools(parsed.command, (t) => (t === "pulumi" ? typeof pulumi !== "string" : deps.runner.onPath(t)));
  if (missing.length > 0 || typeof pulumi === "string") throw new PrerequisitesMissingError(`npm run ${parsed.command}`, missing);
  const step = steps(deps);
  if (parsed.command !== "down" && step.run("docker", ["info"], { stdio: "ignore" }).status !== 0) {
    throw new PrerequisitesMissingError(`npm run ${parsed.command}`, ["a running Docker daemon: Docker is installed but `docker info` failed; start Docker and try again"]);
  }
  // Before the cluster, so a broken Pulumi.yaml or an unwritable folder fails in seconds, not after kind.
  ensureBackendDir(deps.env, deps.projectDir, deps.home);
  if (parsed.command === "down" && !step.clusters().includes(KIND.cluster)) {
    console.error(`the kind cluster "${KIND.cluster}" does not exist; nothing to destroy there. Remove stale state with \`pulumi stack rm ${STACK}\`.`);
    return 1;
  }
  if (parsed.command !== "down") step.ensureCluster();
  const env = { ...withPassphrase(deps.env), ...pulumi.env, KUBECONFIG: step.writeKubeconfig() };
  const status = runPulumi(step, pulumi, env, pulumiCommandLine(parsed.command, parsed.pulumiArgs));
  if (parsed.command === "down" && status === 0) console.error(`stack destroyed; delete the cluster too with: kind delete cluster --name ${KIND.cluster}`);
  return status;
}

/**
 * The dev stack's `pooling:cluster` when it names an existing cluster (docs/kubernetes.md, "Deploying to
 * another cluster"), read as written: the program validates it, this only decides that kind is not wanted.
 */
export function existingCluster(projectDir: string): { context: string; buildsImage: boolean } | undefined {
  const file = stackFilePath(projectDir, STACK);
  if (!existsSync(file)) return undefined;
  const c = readStackFile(file, STACK).cluster as { type?: unknown; context?: unknown; probeImage?: unknown } | undefined;
  if (c?.type !== "existing") return undefined;
  return { context: typeof c.context === "string" ? c.context : "(unset)", buildsImage: c.probeImage === undefined };
}

/**
 * A stack on an existing cluster: no kind and no kubeconfig of ours; Pulumi runs with the caller's
 * environment and the program pins the stack's context. The dev passphrase is never used there.
 */
function onExisting(parsed: ParsedCommand, deps: ScriptDeps, pulumi: PulumiCommand | string, existing: { context: string; buildsImage: boolean }): number {
  const missing = [
    ...(typeof pulumi === "string" ? [pulumi] : []),
    ...(existing.buildsImage && parsed.command !== "down" && !deps.runner.onPath("docker") ? [`\`docker\` was not found on PATH. Install ${TOOLS.docker}`] : []),
    ...(passphraseEnv(deps.env).defaulted
      ? [`PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE: the stack deploys to an existing cluster, where the dev default "${DEV_PASSPHRASE}" is not used`]
      : []),
  ];
  if (missing.length > 0 || typeof pulumi === "string") throw new PrerequisitesMissingError(`npm run ${parsed.command}`, missing);
  ensureBackendDir(deps.env, deps.projectDir, deps.home);
  console.error(`pooling:cluster is an existing cluster: using kubeconfig context "${existing.context}", no kind cluster`);
  return runPulumi(steps(deps), pulumi, { ...deps.env, ...pulumi.env }, pulumiCommandLine(parsed.command, parsed.pulumiArgs));
}

function withPassphrase(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { env: out, defaulted } = passphraseEnv(env);
  if (defaulted) console.error(`PULUMI_CONFIG_PASSPHRASE is not set: using the dev default "${DEV_PASSPHRASE}" (local clusters only).`);
  return out;
}

function runPulumi(step: ReturnType<typeof steps>, pulumi: PulumiCommand, env: NodeJS.ProcessEnv, commandLine: string[]): number {
  step.must(pulumi.bin, ["stack", "select", "--create", STACK, "--secrets-provider", "passphrase"], { env, stdio: "inherit" });
  return step.run(pulumi.bin, commandLine, { env, stdio: "inherit" }).status;
}

/** The state folder of `up --render-to`: apart from any cluster's, so rendering never touches a deployed stack's state. */
export const renderStateDir = (projectDir: string) => join(projectDir, ".local", "pulumi-render-state");

/** `--cluster local` (the control plane `npm run cluster` runs, started when it is not) and `up --render-to DIR`. */
function offKind(parsed: ParsedCommand, deps: ScriptDeps, pulumi: PulumiCommand): number {
  const step = steps(deps);
  const base = { ...withPassphrase(deps.env), ...pulumi.env };
  let env: NodeJS.ProcessEnv;
  let commandLine: string[];
  if (parsed.renderTo !== undefined) {
    const state = renderStateDir(deps.projectDir);
    mkdirSync(state, { recursive: true, mode: 0o700 });
    mkdirSync(parsed.renderTo, { recursive: true });
    env = { ...base, POOLING_CLUSTER: "render", POOLING_RENDER_DIR: parsed.renderTo, PULUMI_BACKEND_URL: `file://${state}` };
    // Nothing to read back from a folder of YAML: no --refresh.
    commandLine = [COMMANDS.up, "--stack", STACK, ...parsed.pulumiArgs];
  } else {
    ensureBackendDir(deps.env, deps.projectDir, deps.home);
    step.must(process.execPath, ["--import", "tsx", join(deps.projectDir, "cluster", "cli.ts"), "up"], { stdio: "inherit" });
    const versions = (deps.nodeVersions ?? (() => step.must(process.execPath, ["--import", "tsx", join(deps.projectDir, "pods", "node", "versions.ts")]).trim()))();
    if (versions) console.error(`the local node runs Debian's servers in place of the images: the stack is validated and deployed for ${versions.replaceAll("=", " ").replaceAll(",", ", ")}, whatever its postgres.version and pgbouncer.version say`);
    env = { ...base, POOLING_CLUSTER: "local", KUBECONFIG: clusterKubeconfigPath(deps.projectDir), [NODE_VERSIONS_ENV]: versions };
    commandLine = pulumiCommandLine(parsed.command, parsed.pulumiArgs);
  }
  const status = runPulumi(step, pulumi, env, commandLine);
  if (parsed.renderTo !== undefined && status === 0) console.error(`rendered into ${parsed.renderTo}; run the pods with: npm run pods -- --manifests ${parsed.renderTo}`);
  if (parsed.command === "down" && status === 0) console.error("stack destroyed; stop the control plane too with: npm run cluster -- down");
  return status;
}

if (isMain(import.meta.url)) runCli((argv) => main(argv));
