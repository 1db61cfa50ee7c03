/**
 * scripts/pulumi.ts's `main` with a recording runner: what kind, docker and pulumi are handed, in order,
 * and what exists on disk at each call. The project folder is a temporary copy holding the real
 * Pulumi.yaml, so the kubeconfig the script writes under `.local/` never replaces a real one.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { KIND } from "../../infra/k8s/kind.ts";
import { main, type Command, type Runner } from "../../scripts/pulumi.ts";
import { PROJECT_DIR } from "./fixtures.ts";

interface Call {
  line: string;
  args: string[];
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Whether the folder under test existed when this command was started. */
  folderExisted: boolean;
}

const ok = (stdout = "") => ({ status: 0, stdout });

/** Answers like a machine with the kind cluster up (two nodes); `failing` commands exit 1. */
function recordingRunner(watched: () => string, failing: string[] = []): { runner: Runner; calls: Call[] } {
  const calls: Call[] = [];
  const runner: Runner = {
    onPath: () => true,
    run(cmd, args, opts) {
      const line = [cmd, ...args].join(" ");
      calls.push({ line, args: [...args], input: opts.input?.toString(), cwd: opts.cwd?.toString(), env: opts.env, folderExisted: existsSync(watched()) });
      if (failing.some((f) => line.startsWith(f))) return { status: 1, stdout: "" };
      if (line === "kind get clusters") return ok(`${KIND.cluster}\n`);
      if (line.startsWith("kind get nodes")) return ok(`${KIND.cluster}-control-plane\n${KIND.cluster}-worker\n`);
      if (line.startsWith("kind get kubeconfig")) return ok("apiVersion: v1\nkind: Config\n");
      return ok();
    },
  };
  return { runner, calls };
}

let home: string;
let project: string;
let scratch: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "pooling-home-"));
  project = mkdtempSync(join(tmpdir(), "pooling-project-"));
  scratch = mkdtempSync(join(tmpdir(), "pooling-scratch-"));
  copyFileSync(join(PROJECT_DIR, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
  vi.spyOn(console, "error").mockImplementation(() => {});
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of [home, project, scratch]) rmSync(dir, { recursive: true, force: true });
});

const run = (command: Command, runner: Runner, env: NodeJS.ProcessEnv = {}, extra: string[] = []) =>
  main([command, ...extra], { runner, env, home, projectDir: project });
const pulumiCalls = (calls: Call[]) => calls.filter((c) => c.line.startsWith("pulumi "));

describe("npm run up, with the file backend's folder missing", () => {
  it("creates the folder Pulumi.yaml's backend.url names before `pulumi stack select --create dev`", () => {
    const url = (parse(readFileSync(join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as { backend: { url: string } }).backend.url;
    expect(url).toBe("file://~/.pulumi-pooling");
    const folder = join(home, ".pulumi-pooling");
    const { runner, calls } = recordingRunner(() => folder);

    expect(run("up", runner)).toBe(0);

    const pulumi = pulumiCalls(calls);
    expect(pulumi[0]).toMatchObject({ line: "pulumi stack select --create dev --secrets-provider passphrase", folderExisted: true, cwd: project });
    expect(pulumi.every((c) => c.folderExisted)).toBe(true);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
  });

  it("follows Pulumi.yaml when its backend.url changes: one source of truth", () => {
    writeFileSync(join(project, "Pulumi.yaml"), "name: pooling\nruntime: nodejs\nbackend:\n  url: file://~/elsewhere/state\n");
    const folder = join(home, "elsewhere", "state");
    const { runner, calls } = recordingRunner(() => folder);

    expect(run("preview", runner)).toBe(0);

    expect(pulumiCalls(calls)[0]).toMatchObject({ line: expect.stringMatching(/^pulumi stack select --create dev /), folderExisted: true });
    expect(existsSync(join(home, ".pulumi-pooling"))).toBe(false);
  });

  it("creates PULUMI_BACKEND_URL's folder instead when that is a file:// URL", () => {
    const folder = join(scratch, "from-env");
    const { runner, calls } = recordingRunner(() => folder);

    expect(run("up", runner, { PULUMI_BACKEND_URL: `file://${folder}` })).toBe(0);

    expect(pulumiCalls(calls)[0]).toMatchObject({ line: expect.stringMatching(/^pulumi stack select --create dev /), folderExisted: true });
    expect(existsSync(join(home, ".pulumi-pooling"))).toBe(false);
  });

  it("creates no folder when PULUMI_BACKEND_URL is not a file:// URL", () => {
    const { runner } = recordingRunner(() => join(home, ".pulumi-pooling"));

    expect(run("up", runner, { PULUMI_BACKEND_URL: "s3://pooling-state" })).toBe(0);

    expect(existsSync(join(home, ".pulumi-pooling"))).toBe(false);
  });
});

describe("what pulumi is handed", () => {
  it.each(["up", "preview", "down"] as const)("`npm run %s` refreshes the state first", (command) => {
    const { runner, calls } = recordingRunner(() => home);

    expect(run(command, runner, {}, ["--yes"])).toBe(0);

    const last = pulumiCalls(calls).at(-1)!;
    expect(last.args).toEqual([{ up: "up", preview: "preview", down: "destroy" }[command], "--stack", "dev", "--refresh", "--yes"]);
    expect(last.env).toMatchObject({ KUBECONFIG: join(project, ".local", `kind-${KIND.cluster}.kubeconfig`), PULUMI_CONFIG_PASSPHRASE: "pooling-dev" });
  });

  it("leaves the caller's own --refresh=false alone", () => {
    const { runner, calls } = recordingRunner(() => home);

    expect(run("up", runner, {}, ["--refresh=false"])).toBe(0);

    expect(pulumiCalls(calls).at(-1)!.args).toEqual(["up", "--stack", "dev", "--refresh=false"]);
  });
});

describe("the kind nodes' registry mirror", () => {
  it("points every node's containerd at the pooling-registry container, under the host port from KIND", () => {
    const { runner, calls } = recordingRunner(() => home);

    expect(run("up", runner)).toBe(0);

    const dir = `/etc/containerd/certs.d/localhost:${KIND.registryHostPort}`;
    const writes = calls.filter((c) => c.line.startsWith("docker exec -i "));
    expect(writes.map((c) => c.line)).toEqual([
      `docker exec -i ${KIND.cluster}-control-plane cp /dev/stdin ${dir}/hosts.toml`,
      `docker exec -i ${KIND.cluster}-worker cp /dev/stdin ${dir}/hosts.toml`,
    ]);
    for (const w of writes) expect(w.input).toBe('[host."http://pooling-registry:5000"]\n');
  });

  it("is described in kind/cluster.yaml with KIND's cluster name, registry port and container", () => {
    const yaml = readFileSync(join(PROJECT_DIR, "kind", "cluster.yaml"), "utf8");
    expect((parse(yaml) as { name: string }).name).toBe(KIND.cluster);
    expect(yaml).toContain(`writes one for localhost:${KIND.registryHostPort} on every node`);
    expect(yaml).toContain(`the \`${KIND.registryContainer}\` container`);
  });
});

describe("failures", () => {
  it("stops with a CommandFailedError, code POOLING_COMMAND_FAILED, when a step exits non-zero", () => {
    const { runner, calls } = recordingRunner(() => home, ["kind get clusters"]);

    expect(() => run("up", runner)).toThrow(expect.objectContaining({ code: "POOLING_COMMAND_FAILED", message: "kind get clusters failed (exit 1)" }));
    expect(pulumiCalls(calls)).toEqual([]);
  });

  it("stops with a ProjectFileError, code POOLING_PROJECT_FILE_INVALID, before kind or pulumi, when Pulumi.yaml is not YAML", () => {
    writeFileSync(join(project, "Pulumi.yaml"), "backend: [unclosed\n");
    const { runner, calls } = recordingRunner(() => home);

    expect(() => run("up", runner)).toThrow(expect.objectContaining({ code: "POOLING_PROJECT_FILE_INVALID" }));
    expect(calls.map((c) => c.line)).toEqual(["docker info"]);
  });
});

describe("npm run up -- --cluster local", () => {
  const local = (runner: Runner, nodeVersions: () => string) => main(["up", "--cluster", "local", "--yes"], { runner, env: {}, home, projectDir: project, nodeVersions });

  it("starts the control plane, then hands pulumi the local kubeconfig and the versions the node runs", () => {
    const { runner, calls } = recordingRunner(() => home);

    expect(local(runner, () => "postgres=15,pgbouncer=1.18")).toBe(0);

    expect(calls.findIndex((c) => c.line.endsWith("cluster/cli.ts up"))).toBeLessThan(calls.findIndex((c) => c.line.startsWith("pulumi ")));
    const up = pulumiCalls(calls).at(-1)!;
    expect(up.args).toEqual(["up", "--stack", "dev", "--refresh", "--yes"]);
    expect(up.env).toMatchObject({ POOLING_CLUSTER: "local", KUBECONFIG: join(project, ".local", "cluster", "kubeconfig"), POOLING_NODE_VERSIONS: "postgres=15,pgbouncer=1.18" });
    expect(calls.some((c) => c.line.startsWith("kind ") || c.line.startsWith("docker "))).toBe(false);
    expect(console.error).toHaveBeenCalledWith(expect.stringContaining("validated and deployed for postgres 15, pgbouncer 1.18"));
  });
});

describe("npm run up on a stack whose pooling:cluster is an existing cluster", () => {
  const stackFile = (cluster: string) => writeFileSync(join(project, "Pulumi.dev.yaml"), `config:\n  pooling:cluster:\n${cluster}`);

  it("runs Pulumi with the caller's kubeconfig and no kind, docker or kubeconfig of ours", () => {
    stackFile("    type: existing\n    context: prod-eu\n    probeImage: registry.example/pooling-probe:1.0\n");
    const { runner, calls } = recordingRunner(() => join(project, ".local"));
    expect(run("up", runner, { PULUMI_CONFIG_PASSPHRASE: "s3cret", KUBECONFIG: "/home/u/.kube/config" }, ["--yes"])).toBe(0);
    expect(calls.filter((c) => /^(kind|docker) /.test(c.line))).toEqual([]);
    const pulumi = pulumiCalls(calls);
    expect(pulumi.map((c) => c.args[0])).toEqual(["stack", "up"]);
    expect(pulumi.at(-1)!.env).toMatchObject({ KUBECONFIG: "/home/u/.kube/config", PULUMI_CONFIG_PASSPHRASE: "s3cret" });
    expect(pulumi.at(-1)!.env?.POOLING_CLUSTER).toBeUndefined();
    expect(existsSync(join(project, ".local"))).toBe(false);
  });

  it("refuses the dev passphrase there, and names docker when the stack builds the probe image", () => {
    stackFile("    type: existing\n    context: prod-eu\n    probeRegistry: registry.example/team\n");
    const { runner, calls } = recordingRunner(() => join(project, ".local"));
    const noDocker: Runner = { ...runner, onPath: (t) => t !== "docker" };
    expect(() => run("up", noDocker)).toThrow(
      expect.objectContaining({ code: "POOLING_PREREQUISITES_MISSING", message: expect.stringMatching(/`docker` was not found[\s\S]*PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE/) }),
    );
    expect(calls).toEqual([]);
  });

  it("leaves a kind stack (no pooling:cluster, or type kind) on the kind path", () => {
    stackFile("    type: kind\n");
    const { runner, calls } = recordingRunner(() => join(project, ".local"));
    expect(run("preview", runner)).toBe(0);
    expect(calls.some((c) => c.line === "kind get clusters")).toBe(true);
  });
});
