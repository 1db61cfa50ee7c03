/**
 * No container outlives its runner, even a runner killed with SIGKILL: unshare dies with the runner
 * (parent-death signal), PID 1 with unshare, and everything else in the PID namespace with PID 1.
 */
import { execFileSync, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { childrenOf, isAlive, mountsUnder } from "../../pods/proc.ts";
import { IS_ROOT, until } from "./helpers.ts";

describe.skipIf(!IS_ROOT)("a runner killed with SIGKILL", () => {
  it("leaves no container process behind", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./orphan-runner.ts", import.meta.url))], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code) => reject(new Error(`the runner exited early (${code})`)));
    });
    const { pids, netns, runDir } = JSON.parse(line) as { pids: number[]; netns: string[]; runDir: string };
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
