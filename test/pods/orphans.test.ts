/**
 * No container outlives its runner, even a runner killed with SIGKILL: unshare dies with the runner
 * (parent-death signal), PID 1 with unshare, and everything else in the PID namespace with PID 1.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { childrenOf, isAlive, mountsUnder } from "../../pods/proc.ts";
import { requireRoot, until } from "./helpers.ts";

async function startRunner(...args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./orphan-runner.ts", import.meta.url)), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the runner exited early (${code})`)));
  });
  return { child, ...(JSON.parse(line) as { pids: number[]; netns: string[]; runDir: string }) };
}

describe("a runner killed with SIGKILL", () => {
  beforeAll(requireRoot);
  it("leaves no container process behind", async () => {
    const { child, pids, netns, runDir } = await startRunner();
    // PID 1s and what they started (each has a `sleep 1000` child).
    const all = [...pids, ...pids.flatMap(childrenOf)];
    try {
      expect(pids).toHaveLength(2);
      expect(all.every(isAlive)).toBe(true);
      child.kill("SIGKILL");
      await until(undefined, "every container process to die", 10_000, () => all.every((p) => !isAlive(p)));
    } finally {
      // What only a live runner could undo: its network namespaces and its tmpfs volumes.
      for (const n of netns) execFileSync("ip", ["netns", "del", n]);
      for (const mp of mountsUnder(runDir)) execFileSync("umount", ["-l", mp]);
      child.kill("SIGKILL");
      rmSync(dirname(runDir), { recursive: true, force: true });
    }
  });
});

describe("a runner sent SIGTERM", () => {
  beforeAll(requireRoot);
  it("terminates every pod as the kubelet would, removes its network and mounts, then ends by the signal", async () => {
    const { child, pids, netns, runDir } = await startRunner("--signals");
    try {
      const ended = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
      child.kill("SIGTERM");
      expect(await ended).toBe("SIGTERM");
      expect(pids.filter(isAlive)).toEqual([]);
      expect(netns.filter((n) => existsSync(`/run/netns/${n}`))).toEqual([]);
      expect(mountsUnder(runDir)).toEqual([]);
    } finally {
      child.kill("SIGKILL");
      rmSync(dirname(runDir), { recursive: true, force: true });
    }
  });
});
