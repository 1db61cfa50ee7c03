import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { derivedDefaultPoolSize, derivedReservePoolSize } from "../../infra/config/pools.ts";
import { REDACTED } from "../../infra/k8s/manifests/index.ts";
import { PROJECT_DIR } from "../../local/stack.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-render-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function render(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(PROJECT_DIR, "infra", "cli", "render.ts"), ...args], { cwd: PROJECT_DIR, encoding: "utf8" });
}

describe("npm run render", () => {
  it("writes every config file and every Kubernetes manifest for the dev stack", () => {
    const out = join(dir, "dev");
    const r = render(["--stack", "dev", "--out", out]);
    expect(r.status, r.stderr).toBe(0);
    for (const f of ["postgresql.conf", "pg_hba.conf", "pgbouncer.ini", "pgbouncer_hba.conf", "userlist.txt", "redis.conf", "redis-auth.conf"]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const ini = readFileSync(join(out, "pgbouncer.ini"), "utf8");
    expect(ini).toMatch(/^;; pgbouncer\.ini for stack "dev"/);
    // The dev stack leaves its pool sizes to the derivation: the file and the summary say the values and how.
    const pool = derivedDefaultPoolSize("1", 2);
    expect(ini).toMatch(new RegExp(`^default_pool_size = ${pool}$`, "m"));
    expect(ini).toContain(`;; pool sizes derived (unset in the stack file): defaultPoolSize ${pool} = max(`);
    expect(r.stderr).toContain(`pool sizes derived (unset in the stack file): defaultPoolSize ${pool} = max(`);
    expect(r.stderr).toContain(`reservePoolSize ${derivedReservePoolSize(pool)} = 20% of defaultPoolSize`);
    const manifests = readdirSync(join(out, "k8s"), { recursive: true }).map(String).filter((f) => f.endsWith(".yaml"));
    expect(manifests.length).toBeGreaterThan(10);
  });

  const secretsOf = (k8sDir: string) =>
    readdirSync(k8sDir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => ({ file: join(k8sDir, f), object: parse(readFileSync(join(k8sDir, f), "utf8")) as { kind: string; stringData?: Record<string, string> } }))
      .filter((m) => m.object.kind === "Secret");

  it("redacts every Secret value in the written manifests", () => {
    const secrets = secretsOf(join(dir, "dev", "k8s"));
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) for (const v of Object.values(s.object.stringData ?? {})) expect(v, s.file).toBe(REDACTED);
  });

  it("writes the generated values into the Secrets with --with-secrets, readable by the owner only, for the pod runner", () => {
    const out = join(dir, "with-secrets");
    const r = render(["--stack", "dev", "--out", out, "--with-secrets"]);
    expect(r.status, r.stderr).toBe(0);
    const secrets = secretsOf(join(out, "k8s"));
    const userlist = readFileSync(join(out, "userlist.txt"), "utf8");
    const pgbouncer = secrets.find((s) => s.file.endsWith("pgbouncer/secret.yaml"))!;
    // The Secret holds the very userlist the render wrote beside it: one generation of secrets for both.
    expect(pgbouncer.object.stringData!["userlist.txt"]).toBe(userlist);
    for (const s of secrets) {
      for (const v of Object.values(s.object.stringData ?? {})) expect(v, s.file).not.toBe(REDACTED);
      expect(statSync(s.file).mode & 0o777, s.file).toBe(0o600);
    }
  });

  it("refuses an invalid stack file with every problem on stderr and writes nothing", () => {
    const bad = join(dir, "Pulumi.bad.yaml");
    writeFileSync(bad, "config:\n  pooling:pgbouncer:\n    defaultPoolSize: 120\n  pooling:postgres:\n    user: \"app\\ninjected = 1\"\n");
    const out = join(dir, "bad");
    const r = render(["--config-file", bad, "--out", out]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/pooling:postgres\.user = "app\\ninjected = 1": expected a PostgreSQL identifier/);
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a budget that does not fit, showing the arithmetic", () => {
    const bad = join(dir, "Pulumi.budget.yaml");
    writeFileSync(bad, "config:\n  pooling:pgbouncer:\n    defaultPoolSize: 120\n");
    const r = render(["--config-file", bad, "--out", join(dir, "budget")]);
    // A stack file to change: exit 2, as npm start and every other command give for bad input.
    expect(r.status).toBe(2);
    const reserve = derivedReservePoolSize(120);
    expect(r.stderr).toContain(
      `pooling:pgbouncer.defaultPoolSize = 120: the PgBouncer pools need more server connections than PostgreSQL can give: (replicas 2 + 1 draining during a rollout) × (defaultPoolSize 120 + reservePoolSize ${reserve}) = ${3 * (120 + reserve)} > maxConnections 200`,
    );
    expect(r.stderr).toContain(`reservePoolSize ${reserve} was derived: 20% of defaultPoolSize`);
    expect(existsSync(join(dir, "budget"))).toBe(false);
  });

  // A stack trace's frames are lines starting with "at": a user error must show none.
  const STACK_FRAME = /^\s+at /m;

  it("refuses a missing --out with its code and the usage, no stack trace, exit 2", () => {
    const r = render(["--stack", "dev"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error POOLING_CLI_USAGE: --out DIR is required\n\nUsage: npm run render/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it("says which output path cannot be written, with its code, no stack trace, exit 1", () => {
    const blocker = join(dir, "a-file");
    writeFileSync(blocker, "not a folder\n");
    const r = render(["--stack", "dev", "--out", join(blocker, "out")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error POOLING_RENDER_OUTPUT_UNWRITABLE: cannot write ${blocker}/out/\\S+: ENOTDIR`));
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});
