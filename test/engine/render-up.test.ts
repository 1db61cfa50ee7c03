/**
 * The real Pulumi engine runs this program: the toolchain's CLI, language host and providers, with the
 * Kubernetes provider writing every object as YAML (renderYamlToDirectory) instead of applying it, so
 * `pulumi up` completes without a cluster. What the engine hands the program (stack config, secrets,
 * outputs) and what it makes of what the program registers is all real.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { engineMissing, engineProject, providerPlugins, stopPulumis, versions, type EngineProject } from "./project.ts";
import { skipReason } from "../skip.ts";
import { waitFor } from "../../lib/wait.ts";

const missing = skipReason("test/engine/render-up.test.ts", engineMissing());

/** Every YAML file under a folder, recursively. */
function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f));
}

describe.skipIf(missing !== undefined)(`the real engine, render mode${missing ? ` (skipped: ${missing})` : ""}`, () => {
  let project: EngineProject;
  let out: string;
  const render = () => ({ POOLING_CLUSTER: "render", POOLING_RENDER_DIR: out });

  beforeAll(async () => {
    project = engineProject();
    out = mkdtempSync(join(tmpdir(), "pooling-engine-out-"));
    const init = await project.pulumi(["stack", "init", "dev", "--secrets-provider", "passphrase"]);
    expect(init.code, init.stderr).toBe(0);
  }, 120_000);

  afterAll(() => {
    stopPulumis();
    project?.remove();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it("runs the toolchain's CLI at the lockfile's version with the built providers installed", async () => {
    const version = await project.pulumi(["version"]);
    expect(version.stdout.trim()).toBe(`v${versions.pulumi}`);
    const plugins = await project.pulumi(["plugin", "ls", "--json"]);
    const listed = (JSON.parse(plugins.stdout) as Array<{ name: string; kind: string; version: string }>).map((p) => `${p.kind} ${p.name} ${p.version}`);
    for (const p of providerPlugins(versions)) expect(listed).toContain(`resource ${p.name} ${p.version}`);
  });

  it("`pulumi up` writes every object of the stack as YAML and records the documented outputs, secrets as secrets", async () => {
    const up = await project.pulumi(["up", "--yes", "--stack", "dev"], render());
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    const kinds = yamlFiles(out).map((f) => (parse(readFileSync(f, "utf8")) as { kind: string }).kind);
    for (const kind of ["Namespace", "ConfigMap", "Secret", "StatefulSet", "Deployment", "Service", "NetworkPolicy"]) expect(kinds).toContain(kind);

    const outputs = await project.pulumi(["stack", "output", "--json"]);
    const values = JSON.parse(outputs.stdout) as Record<string, unknown>;
    expect(Object.keys(values).sort()).toEqual(["caCertificate", "clientTls", "connectionBudget", "databaseUrl", "directUrl", "namespace", "pooledUrl", "prismaAdapterOptions", "probeUrl", "redisUrl"]);
    for (const secret of ["databaseUrl", "directUrl", "pooledUrl", "redisUrl"]) expect(values[secret]).toBe("[secret]");
    // The CA certificate is not secret; the leaves' keys reach only the TLS Secrets, never an output.
    expect(values.caCertificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const tlsSecrets = yamlFiles(out)
      .map((f) => parse(readFileSync(f, "utf8")) as { kind: string; metadata: { name: string }; stringData?: Record<string, string>; data?: Record<string, string> })
      .filter((o) => o.kind === "Secret" && o.metadata.name.endsWith("-tls"));
    expect(tlsSecrets.map((o) => o.metadata.name).sort()).toEqual(["pgbouncer-tls", "pooling-client-tls", "postgres-tls", "redis-tls"]);
    const shown = JSON.parse((await project.pulumi(["stack", "output", "--json", "--show-secrets"])).stdout) as Record<string, string>;
    expect(shown.pooledUrl).toMatch(/^postgres(ql)?:\/\/app:[^@]+@.*\?sslmode=verify-full&sslrootcert=/);
    expect(shown.redisUrl).toMatch(/^rediss:\/\//);
  }, 600_000);

  it("a pool-size change through `pulumi config set --path` previews as an update of PgBouncer's ConfigMap alone", async () => {
    expect(existsSync(out)).toBe(true);
    const set = await project.pulumi(["config", "set", "--path", "pooling:pgbouncer.defaultPoolSize", "12"]);
    expect(set.code, set.stderr).toBe(0);
    const preview = await project.pulumi(["preview", "--json", "--stack", "dev"], render());
    expect(preview.code, preview.stderr).toBe(0);
    const steps = (JSON.parse(preview.stdout) as { steps: Array<{ op: string; urn: string }> }).steps.filter((s) => s.op !== "same");
    expect(steps.map((s) => `${s.op} ${s.urn.split("::").at(-1)}`)).toEqual(["update pgbouncer-config"]);
  }, 600_000);

  it("keeps a `config set --secret` value encrypted in the stack file and hands the program the plain value", async () => {
    const set = await project.pulumi(["config", "set", "--secret", "--path", "pooling:postgres.user", "app"]);
    expect(set.code, set.stderr).toBe(0);
    const stackFile = readFileSync(join(project.dir, "Pulumi.dev.yaml"), "utf8");
    expect(stackFile).toMatch(/user:\s*\n\s*secure: v1:/);
    const preview = await project.pulumi(["preview", "--json", "--stack", "dev"], render());
    expect(preview.code, preview.stderr).toBe(0);
  }, 600_000);

  it("fails a stack over the connection budget before any resource, with the config message and no stack trace", async () => {
    const set = await project.pulumi(["config", "set", "--path", "pooling:pgbouncer.defaultPoolSize", "120"]);
    expect(set.code, set.stderr).toBe(0);
    try {
      const preview = await project.pulumi(["preview", "--stack", "dev"], render());
      const text = `${preview.stdout}\n${preview.stderr}`;
      expect(preview.code).not.toBe(0);
      expect(text).toMatch(/pooling:pgbouncer\.defaultPoolSize = 120: the PgBouncer pools need more server connections than PostgreSQL can give/);
      expect(text).not.toMatch(/^\s+at .+\(.*:\d+:\d+\)$/m);
      expect(text).not.toMatch(/unhandled exception/i);
    } finally {
      await project.pulumi(["config", "set", "--path", "pooling:pgbouncer.defaultPoolSize", "12"]);
    }
  }, 600_000);
  // Last: it leaves 1-minute certificates in the stack's config. With lifetime 60s and renewBefore 30s the
  // renewal epoch is 30 s long (infra/render/certificates.ts renewalEpoch), so a real boundary passes
  // between two `pulumi up`s of the same config: the leaves must change there, and only there.
  it("renews the leaves on the `pulumi up` after their renewal epoch ends, with the same CA and config", async () => {
    const periodMs = 30_000;
    for (const [k, v] of [["lifetime", "60s"], ["renewBefore", "30s"]] as const) {
      const set = await project.pulumi(["config", "set", "--path", `pooling:tls.${k}`, v]);
      expect(set.code, set.stderr).toBe(0);
    }
    const leafAndCa = async () => {
      const secret = yamlFiles(out)
        .map((f) => parse(readFileSync(f, "utf8")) as { kind: string; metadata: { name: string }; stringData?: Record<string, string>; data?: Record<string, string> })
        .find((o) => o.kind === "Secret" && o.metadata.name === "pgbouncer-tls");
      const value = (k: string) => secret?.stringData?.[k] ?? Buffer.from(secret?.data?.[k] ?? "", "base64").toString("utf8");
      const ca = (JSON.parse((await project.pulumi(["stack", "output", "--json"])).stdout) as { caCertificate: string }).caCertificate;
      return { leaf: value("tls.crt"), ca };
    };
    const first = await project.pulumi(["up", "--yes", "--stack", "dev"], render());
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    // The program took its epoch during the run, so no later than now: wait for the next one to begin.
    const epochAfterFirst = Math.floor(Date.now() / periodMs);
    const before = await leafAndCa();
    expect(before.leaf).toMatch(/^-----BEGIN CERTIFICATE-----/);
    await waitFor("the next renewal epoch", () => (Math.floor(Date.now() / periodMs) > epochAfterFirst ? true : undefined), 2 * periodMs, 500);

    const preview = await project.pulumi(["preview", "--json", "--stack", "dev"], render());
    expect(preview.code, preview.stderr).toBe(0);
    const changed = (JSON.parse(preview.stdout) as { steps: Array<{ op: string; urn: string }> }).steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").at(-1)}`);
    // A new leaves Stash for the new epoch, the old one deleted, the servers' three TLS Secrets updated in
    // place; the CA's Stash stays, and so does the clients' Secret (only the CA without clientCertificates).
    expect(changed.filter((c) => /tls-leaves-e\d+/.test(c)).map((c) => c.split(" ")[0]).sort()).toEqual(["create", "delete"]);
    expect(changed.filter((c) => c.startsWith("update ")).sort(), changed.join("; ")).toEqual(["update pgbouncer-tls", "update postgres-tls", "update redis-tls"]);
    expect(changed.some((c) => c.includes("tls-ca"))).toBe(false);

    const second = await project.pulumi(["up", "--yes", "--stack", "dev"], render());
    expect(second.code, `${second.stdout}\n${second.stderr}`).toBe(0);
    const after = await leafAndCa();
    expect(after.leaf).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(after.leaf).not.toBe(before.leaf);
    expect(after.ca).toBe(before.ca);
  }, 600_000);
});
