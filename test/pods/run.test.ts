/**
 * The short form of `npm run pods`: the dev stack's rendered pods run here in Linux namespaces, every
 * check passes, and the report has the shape docs/pods.md promises. Needs root, as CI runs it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PodsReport } from "../../pods/run.ts";

const PROJECT_DIR = new URL("../..", import.meta.url).pathname;
const REQUIRED_CHECKS = [
  "all-pods-ready",
  "probe-end-to-end",
  "network-policies-enforced",
  "reload-without-restart",
  "rollout-budget",
  "drain-under-load",
  "postgres-restart-keeps-data",
  "terminate-within-grace",
];

describe("npm run pods --short on the dev stack", () => {
  const dir = mkdtempSync(join(tmpdir(), "pooling-pods-"));
  const jsonFile = join(dir, "pods.json");
  let code: number | null = null;
  let stderr = "";

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("the pod runner needs root (network namespaces, mounts, nftables); CI runs as root");
    const child = spawn(process.execPath, ["--import", "tsx", join(PROJECT_DIR, "pods", "cli.ts"), "--stack", "dev", "--short", "--json", jsonFile], {
      cwd: PROJECT_DIR,
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  }, 900_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const report = (): PodsReport => JSON.parse(readFileSync(jsonFile, "utf8")) as PodsReport;

  it("exits 0 and writes the report", () => {
    expect(code, stderr.slice(-4000)).toBe(0);
    expect(Object.keys(report()).sort()).toEqual(["checks", "pods", "standIns"]);
  });

  it("passes every check the issue names, each with a detail", () => {
    const checks = report().checks;
    expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(REQUIRED_CHECKS));
    for (const c of checks) expect(c, c.detail).toMatchObject({ ok: true, detail: expect.any(String) });
  });

  it("got every pod of every workload Ready, and stopped each within its grace", () => {
    const pods = report().pods;
    expect(new Set(pods.map((p) => p.workload))).toEqual(new Set(["postgres", "pgbouncer", "redis", "app-probe"]));
    for (const p of pods) {
      expect(p.ready, p.name).toBe(true);
      expect(p.terminationSeconds, p.name).not.toBeNull();
      expect(p.terminationSeconds!, p.name).toBeLessThanOrEqual(p.graceSeconds);
      for (const c of p.containers) expect(Object.keys(c).sort(), `${p.name}/${c.name}`).toEqual(["exitCode", "exitSeconds", "image", "name", "standIn"]);
    }
  });

  it("reports the stack's own images and what stood in for each", () => {
    const { pods, standIns } = report();
    const images = pods.flatMap((p) => p.containers.map((c) => c.image));
    expect(images).toEqual(expect.arrayContaining(["postgres:17.11-bookworm", "edoburu/pgbouncer:v1.24.1-p1", "redis:7.4.11-bookworm"]));
    expect(standIns.find((s) => s.image.startsWith("edoburu/pgbouncer:"))?.standIn).toMatch(/PgBouncer \d+\.\d+\.\d+/);
    expect(standIns.find((s) => s.image.startsWith("postgres:"))?.standIn).toMatch(/PostgreSQL \d+/);
  });
});
