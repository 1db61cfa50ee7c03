/**
 * The pods the engine itself produced: a real `pulumi up` with the Kubernetes provider rendering every
 * object as YAML (for a stack at the versions of the binaries that stand in for the images, as the pod
 * runner renders its own), then `npm run pods --manifests` on that folder. Every pod starts, serves,
 * reloads and stops; and the engine's YAML is compared with the render CLI's for the same stack file.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { PodsReport } from "../../pods/run.ts";
import { writeStackVariant } from "../../pods/stack.ts";
import { detectStandIns } from "../../pods/standins.ts";
import { PROJECT_DIR } from "../k8s/fixtures.ts";
import { engineMissing, engineProject, stopPulumis, type EngineProject } from "./project.ts";
import { skipReason } from "../skip.ts";

const missing = skipReason("test/engine/pods.test.ts", engineMissing());

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function objects(dir: string): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const f of readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => /\.ya?ml$/.test(f))) {
    const o = parse(readFileSync(join(dir, f), "utf8")) as Obj;
    out.set(`${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`, o);
  }
  return out;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: PROJECT_DIR, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe.skipIf(missing !== undefined)(`the engine's own rendering, run by the pod runner${missing ? ` (skipped: ${missing})` : ""}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "pooling-engine-pods-"));
  const engineOut = join(dir, "engine");
  const cliOut = join(dir, "render-cli");
  let stackFile: string;
  let project: EngineProject;

  beforeAll(async () => {
    const standIns = await detectStandIns({ projectDir: PROJECT_DIR, cacheDir: join(PROJECT_DIR, ".local", "pods") });
    stackFile = writeStackVariant(join(PROJECT_DIR, "Pulumi.dev.yaml"), join(dir, "stack"), standIns.stackVersions);
    project = engineProject({ stackFile });
    expect((await project.pulumi(["stack", "init", "dev", "--secrets-provider", "passphrase"])).code).toBe(0);
    const up = await project.pulumi(["up", "--yes", "--stack", "dev"], { POOLING_CLUSTER: "render", POOLING_RENDER_DIR: engineOut });
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    const render = await run(process.execPath, ["--import", "tsx", join(PROJECT_DIR, "infra", "cli", "render.ts"), "--config-file", stackFile, "--out", cliOut]);
    expect(render.code, render.stderr).toBe(0);
  }, 600_000);

  afterAll(() => {
    stopPulumis();
    project?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes every object the render CLI writes, identical but for how Secrets carry their values", () => {
    const engine = objects(engineOut);
    const cli = objects(join(cliOut, "k8s"));
    // kind's registry ConfigMap is registered on the kind target only.
    expect([...cli.keys()].filter((k) => !engine.has(k))).toEqual(["ConfigMap kube-public/local-registry-hosting"]);
    expect([...engine.keys()].filter((k) => !cli.has(k))).toEqual([]);
    for (const [key, o] of cli) {
      const e = engine.get(key);
      if (!e) continue;
      if (o.kind !== "Secret") {
        expect(e, key).toEqual(o);
        continue;
      }
      // The render CLI writes stringData (redacted); the provider sends stringData as base64 `data`, as
      // the API server would store it: same keys, and the rest of the object the same.
      const { data, stringData: _s, ...rest } = e;
      const { stringData, data: _d, ...cliRest } = o;
      expect(rest, key).toEqual(cliRest);
      expect(Object.keys(data ?? {}).sort(), key).toEqual(Object.keys(stringData ?? {}).sort());
    }
  });

  it("runs every pod of the engine's output Ready through every check of the short run", async () => {
    if (process.getuid?.() !== 0) throw new Error("the pod runner needs root (network namespaces, mounts, nftables); CI runs as root");
    const json = join(dir, "pods.json");
    const r = await run(process.execPath, ["--import", "tsx", join(PROJECT_DIR, "pods", "cli.ts"), "--config-file", stackFile, "--manifests", engineOut, "--short", "--json", json]);
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    const report = JSON.parse(readFileSync(json, "utf8")) as PodsReport;
    expect(new Set(report.pods.map((p) => p.workload))).toEqual(new Set(["postgres", "pgbouncer", "redis", "app-probe"]));
    for (const c of report.checks) expect(c, c.detail).toMatchObject({ ok: true });
  }, 900_000);
});
