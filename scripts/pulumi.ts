/**
 * `npm run up | preview | down`: the kind cluster (created from kind/cluster.yaml when missing, its nodes
 * pointed at the local registry), the `dev` stack on the local backend, then `pulumi up | preview |
 * destroy`. Extra arguments go to Pulumi: `npm run up -- --yes`.
 *
 * PULUMI_CONFIG_PASSPHRASE encrypts the stack's secrets. When neither it nor PULUMI_CONFIG_PASSPHRASE_FILE
 * is set, the dev default "pooling-dev" is used: fine for a throwaway kind cluster, never for anything else.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { KIND, registryHostsToml } from "../infra/k8s/kind.ts";

export const PROJECT_DIR = fileURLToPath(new URL("..", import.meta.url));
export const STACK = "dev";
export const DEV_PASSPHRASE = "pooling-dev";

export const COMMANDS = { up: "up", preview: "preview", down: "destroy" } as const;
export type Command = keyof typeof COMMANDS;

const TOOLS = {
  pulumi: "the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/",
  kind: "kind, for the local cluster: https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
  docker: "Docker, which kind and the probe image build need: https://docs.docker.com/engine/install/",
} as const;
type Tool = keyof typeof TOOLS;

export class UsageError extends Error {}

export function parseCommand(argv: readonly string[]): { command: Command; pulumiArgs: string[] } {
  const [command, ...rest] = argv;
  if (!command || !(command in COMMANDS)) throw new UsageError(`usage: tsx scripts/pulumi.ts <${Object.keys(COMMANDS).join("|")}> [pulumi arguments]`);
  return { command: command as Command, pulumiArgs: rest };
}

/** The tools a command needs that are not on PATH, each with where to get it. */
export function missingTools(command: Command, has: (tool: Tool) => boolean): string[] {
  const needed: Tool[] = command === "down" ? ["pulumi", "kind"] : ["pulumi", "kind", "docker"];
  return needed.filter((t) => !has(t)).map((t) => `\`${t}\` was not found on PATH. Install ${TOOLS[t]}`);
}

/** The passphrase environment: the caller's, or the documented dev default. */
export function passphraseEnv(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; defaulted: boolean } {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined || env.PULUMI_CONFIG_PASSPHRASE_FILE !== undefined) return { env, defaulted: false };
  return { env: { ...env, PULUMI_CONFIG_PASSPHRASE: DEV_PASSPHRASE }, defaulted: true };
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): { status: number; stdout: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: PROJECT_DIR, ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  return { status: r.status ?? 1, stdout: String(r.stdout ?? "") };
}

function must(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = run(cmd, args, { stdio: ["pipe", "pipe", "inherit"], ...opts });
  if (r.status !== 0) throw new Error(`\`${cmd} ${args.join(" ")}\` failed with exit code ${r.status}`);
  return r.stdout;
}

const onPath = (tool: Tool) => spawnSync(tool, ["version"], { stdio: "ignore" }).error === undefined;

function ensureCluster(): void {
  const clusters = must("kind", ["get", "clusters"]).split("\n").map((s) => s.trim());
  if (!clusters.includes(KIND.cluster)) {
    console.error(`creating the kind cluster "${KIND.cluster}" from kind/cluster.yaml`);
    must("kind", ["create", "cluster", "--name", KIND.cluster, "--config", join(PROJECT_DIR, "kind", "cluster.yaml")], { stdio: "inherit" });
  }
  // kind's local-registry guide: each node's containerd resolves localhost:5001 to the registry container.
  const dir = `/etc/containerd/certs.d/localhost:${KIND.registryHostPort}`;
  for (const node of must("kind", ["get", "nodes", "--name", KIND.cluster]).split("\n").filter(Boolean)) {
    must("docker", ["exec", node, "mkdir", "-p", dir]);
    must("docker", ["exec", "-i", node, "cp", "/dev/stdin", `${dir}/hosts.toml`], { input: registryHostsToml() });
  }
}

/** A kubeconfig for this cluster only, so `pulumi up` never lands on whatever context is current. */
function writeKubeconfig(): string {
  const dir = join(PROJECT_DIR, ".local");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `kind-${KIND.cluster}.kubeconfig`);
  writeFileSync(file, must("kind", ["get", "kubeconfig", "--name", KIND.cluster]), { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function main(argv: readonly string[]): number {
  let parsed;
  try {
    parsed = parseCommand(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const missing = missingTools(parsed.command, onPath);
  if (missing.length > 0) {
    console.error(`npm run ${parsed.command} cannot start:\n  - ${missing.join("\n  - ")}`);
    return 1;
  }
  if (parsed.command !== "down" && run("docker", ["info"], { stdio: "ignore" }).status !== 0) {
    console.error("Docker is installed but its daemon does not answer (`docker info` failed). Start Docker and try again.");
    return 1;
  }
  const clusterExists = must("kind", ["get", "clusters"]).split("\n").includes(KIND.cluster);
  if (parsed.command === "down" && !clusterExists) {
    console.error(`the kind cluster "${KIND.cluster}" does not exist; nothing to destroy there. Remove stale state with \`pulumi stack rm ${STACK}\`.`);
    return 1;
  }
  if (parsed.command !== "down") ensureCluster();
  const { env: withPassphrase, defaulted } = passphraseEnv(process.env);
  if (defaulted) console.error(`PULUMI_CONFIG_PASSPHRASE is not set: using the dev default "${DEV_PASSPHRASE}" (local clusters only).`);
  const env = { ...withPassphrase, KUBECONFIG: writeKubeconfig() };
  must("pulumi", ["stack", "select", "--create", STACK, "--secrets-provider", "passphrase"], { env, stdio: "inherit" });
  const pulumi = run("pulumi", [COMMANDS[parsed.command], "--stack", STACK, ...parsed.pulumiArgs], { env, stdio: "inherit" });
  if (parsed.command === "down" && pulumi.status === 0) console.error(`stack destroyed; delete the cluster too with: kind delete cluster --name ${KIND.cluster}`);
  return pulumi.status;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
