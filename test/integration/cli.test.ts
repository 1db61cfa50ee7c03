import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../../local/stack.ts";
import { isAlive, query, waitFor } from "./fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-cli-"));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startCli(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", join(PROJECT_DIR, "local", "cli.ts"), ...args], { cwd: PROJECT_DIR, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe("npm start (local/cli.ts)", () => {
  it("prints exactly one JSON line when ready, with the probe, and leaves no process behind after SIGTERM", async () => {
    const cli = startCli(["--json", "--free-ports", "--data-dir", join(dir, "data")]);
    try {
      const line = await waitFor("the JSON line", async () => (cli.out().includes("\n") ? cli.out() : undefined), 60_000);
      const lines = line.trim().split("\n");
      expect(lines).toHaveLength(1);
      const info = JSON.parse(lines[0]!) as {
        postgres: { url: string; pid: number };
        pgbouncer: { url: string; adminUrl: string; pid: number };
        redis: { url: string; pid: number };
        probe: { url: string; pid: number };
        dataDir: string;
        tls: { caFile: string };
      };
      // TLS is on by default: the line names the CA every URL's sslrootcert points at.
      expect(Object.keys(info).sort()).toEqual(["dataDir", "pgbouncer", "postgres", "probe", "redis", "tls"]);
      expect(new URL(info.pgbouncer.url).searchParams.get("sslrootcert")).toBe(info.tls.caFile);
      expect(readFileSync(info.tls.caFile, "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(await query(info.pgbouncer.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
      expect((await fetch(`${info.probe.url}/readyz`)).status).toBe(200);
      const pids = [info.postgres.pid, info.pgbouncer.pid, info.redis.pid, info.probe.pid];
      expect(pids.every(isAlive)).toBe(true);
      cli.child.kill("SIGTERM");
      expect(await cli.exited).toBe(0);
      expect(pids.filter(isAlive)).toEqual([]);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill("SIGKILL");
    }
  });

  it("with --monitoring runs Prometheus with the rendered rules, scraping both exporters, and stops it on SIGTERM", async () => {
    const cli = startCli(["--json", "--free-ports", "--no-probe", "--monitoring", "--data-dir", join(dir, "monitoring")]);
    try {
      const line = await waitFor("the JSON line", async () => (cli.out().includes("\n") ? cli.out() : undefined), 120_000);
      const info = JSON.parse(line.trim()) as { prometheus: { url: string; rules: string; pid: number }; postgres: { pid: number } };
      const api = async <T>(path: string) => ((await (await fetch(`${info.prometheus.url}${path}`)).json()) as { data: T }).data;
      const rules = await api<{ groups: Array<{ name: string; rules: Array<{ name: string }> }> }>("/api/v1/rules");
      expect(rules.groups.map((g) => g.name)).toEqual(["pooling-dev"]);
      expect(rules.groups[0]!.rules.map((r) => r.name)).toContain("PgBouncerPoolSaturated");
      const health = async () => (await api<{ activeTargets: Array<{ labels: { job: string }; health: string }> }>("/api/v1/targets")).activeTargets.map((t) => `${t.labels.job} ${t.health}`).sort();
      // The first scrape comes within pooling:monitoring.scrapeInterval (30 s on the dev stack).
      const scraped = async () => {
        const h = await health();
        return h.length === 2 && h.every((t) => t.endsWith(" up")) ? true : undefined;
      };
      await waitFor("both exporters scraped", scraped, 60_000);
      expect(await health()).toEqual(["pooling-postgres-exporter up", "pooling-redis-exporter up"]);
      cli.child.kill("SIGTERM");
      expect(await cli.exited).toBe(0);
      expect([info.prometheus.pid, info.postgres.pid].filter(isAlive)).toEqual([]);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill("SIGKILL");
    }
  });

  it("refuses an invalid stack file with every problem and starts nothing", () => {
    const bad = join(dir, "Pulumi.bad.yaml");
    writeFileSync(bad, "config:\n  pooling:pgbouncer:\n    defaultPoolSize: 400\n    poolMode: sometimes\n");
    const r = spawnSync(process.execPath, ["--import", "tsx", join(PROJECT_DIR, "local", "cli.ts"), "--config-file", bad, "--data-dir", join(dir, "bad")], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/pooling:pgbouncer\.poolMode = "sometimes"/);
    expect(existsSync(join(dir, "bad"))).toBe(false);
  });

  // A stack trace's frames are lines starting with "at": a user error must show none.
  const STACK_FRAME = /^\s+at /m;
  const runCli = (args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", join(PROJECT_DIR, "local", "cli.ts"), ...args], { cwd: PROJECT_DIR, encoding: "utf8" });

  it("refuses an unknown flag with its code and the usage, no stack trace, exit 2", () => {
    const r = runCli(["--bogus", "--data-dir", join(dir, "bogus")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^\[pooling\] error POOLING_CLI_USAGE: Unknown option '--bogus'[^]*Usage: npm start/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(existsSync(join(dir, "bogus"))).toBe(false);
  });

  it("names a stack file that does not exist, with its code, no stack trace, exit 2", () => {
    const missing = join(dir, "Pulumi.missing.yaml");
    const r = runCli(["--config-file", missing, "--data-dir", join(dir, "missing")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error POOLING_INVALID_CONFIG: ");
    expect(r.stderr).toContain(`cannot read the stack file ${missing}: ENOENT`);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});
