/**
 * The pod runner's two ways of running a host tool (pods/net-exec.ts for ip and nft, pods/proc.ts for
 * mount and npm), on execa: what reaches the command, what comes back, and each way a command fails.
 * Real processes (sh, cat, true, sleep); no root needed.
 */
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { CommandFailedError } from "../../lib/errors.ts";
import { ContainerStartError } from "../../pods/errors.ts";
import { run as runNetTool } from "../../pods/net-exec.ts";
import { run as runHostTool } from "../../pods/proc.ts";

describe("running a network tool (net-exec run)", () => {
  it("writes the input to the command's stdin and returns its stdout as written, final newline kept", async () => {
    expect(await runNetTool("cat", [], { input: "table inet t {}\n" })).toBe("table inet t {}\n");
  });

  it("lets a command exit before it reads its input (EPIPE is not the failure)", async () => {
    expect(await runNetTool("true", [], { input: "x".repeat(4 * 2 ** 20) })).toBe("");
  });

  it("fails with the command, its exit code and its stderr", async () => {
    const err = await runNetTool("sh", ["-c", "echo 'Cannot find device \"veth0\"' >&2; exit 3"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect(err).toMatchObject({ code: "POOLING_COMMAND_FAILED", exitCode: 3, stderr: 'Cannot find device "veth0"\n' });
    expect((err as Error).message).toContain("sh -c");
  });

  it("fails with no exit code when the command does not exist", async () => {
    const err = await runNetTool("pooling-no-such-tool", ["x"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect(err).toMatchObject({ exitCode: null });
    expect((err as Error).message).toMatch(/pooling-no-such-tool x failed \(exit none\).*ENOENT/);
  });

  it("kills a command that outlives its timeout and says so", async () => {
    const err = await runNetTool("sleep", ["30"], { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect((err as CommandFailedError).stderr).toContain("killed by SIGKILL");
  });
});

describe("running a host tool (proc run)", () => {
  it("runs in the given folder with exactly the given environment", async () => {
    const out = await runHostTool("sh", ["-c", 'pwd; echo "${HOME:-no HOME}"'], { cwd: tmpdir(), env: { PATH: process.env.PATH } });
    expect(out).toBe(`${tmpdir()}\nno HOME\n`);
  });

  it("fails with a ContainerStartError carrying the exit code and what the tool said", async () => {
    const err = await runHostTool("sh", ["-c", "echo 'mount: permission denied' >&2; exit 32"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContainerStartError);
    expect(err).toMatchObject({ exitCode: 32 });
    expect((err as Error).message).toMatch(/failed \(32\): mount: permission denied$/);
  });

  it("rejects with spawn's own error when the tool does not exist", async () => {
    await expect(runHostTool("pooling-no-such-tool", [])).rejects.toMatchObject({ code: "ENOENT" });
  });
});
