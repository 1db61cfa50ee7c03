/**
 * `npm run pods` checks what it needs before it starts anything, and names every missing piece with
 * what to install (pods/prerequisites.ts). No namespace, mount or nft table is made by these tests.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { HOST_COMMANDS, hostProblems, missingServers } from "../../pods/prerequisites.ts";
import type { Manifest } from "../../pods/k8s.ts";
import type { Resolution } from "../../pods/standins.ts";

const PROJECT_DIR = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "pooling-prereq-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A folder with an executable stand-in for each of `names`, and nothing else. */
function binDir(name: string, names: readonly string[]): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (const n of names) {
    writeFileSync(join(d, n), "#!/bin/sh\n");
    chmodSync(join(d, n), 0o755);
  }
  return d;
}

describe("host prerequisites", () => {
  it("none missing when every host command is there and the runner is root", () => {
    expect(hostProblems(0, [binDir("all", HOST_COMMANDS.map((c) => c.command))])).toEqual([]);
  });

  it("a machine without nftables is told to install nftables, and only that", () => {
    const bins = binDir("no-nft", HOST_COMMANDS.map((c) => c.command).filter((c) => c !== "nft"));
    expect(hostProblems(0, [bins])).toEqual(["`nft` (Service addresses and NetworkPolicies): apt-get install nftables"]);
  });

  it("lists every problem at once: not root and each missing command", () => {
    const problems = hostProblems(1000, [binDir("none", [])]);
    expect(problems[0]).toMatch(/^root: /);
    expect(problems).toHaveLength(1 + HOST_COMMANDS.length);
    expect(problems).toContain("`ip` (network namespaces, veths and the pod bridge): apt-get install iproute2");
  });

  it("npm run pods as a non-root user stops at once with the prerequisites error, exit 1, before rendering anything", () => {
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "env", `HOME=${dir}`, process.execPath, "--import", "tsx", "pods/cli.ts", "--short"], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^error POOLING_PREREQUISITES_MISSING: npm run pods cannot start:\n {2}- root: /);
    expect(r.stderr).not.toMatch(/\[pods /); // no progress line: nothing was started
  });
});

describe("server stand-ins", () => {
  const workload = (kind: string, name: string, image: string) => ({ object: { apiVersion: "apps/v1", kind, metadata: { name }, spec: { template: { spec: { containers: [{ name, image }] } } } } as Manifest });
  const resolve = (image: string): Resolution =>
    image.startsWith("redis")
      ? { image, repository: "redis", tag: null, standIn: null, reason: "no Debian redis-server in /usr/bin (apt-get install redis-server)" }
      : ({ image, repository: image, tag: null, standIn: {} } as unknown as Resolution);

  it("names the workload whose server has no stand-in, with the reason's install command", () => {
    const manifests = [workload("StatefulSet", "postgres", "postgres:17"), workload("StatefulSet", "redis", "redis:7.4"), workload("Deployment", "pgbouncer", "edoburu/pgbouncer:1.23")];
    expect(missingServers(manifests, { resolve })).toEqual(["a stand-in for redis:7.4 (StatefulSet redis): no Debian redis-server in /usr/bin (apt-get install redis-server)"]);
  });
});
