/** The one way every command ends (lib/cli.ts) and the error catalog docs/errors.md is made from. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { errorCatalog, errorSources } from "../../infra/cli/errors-page.ts";
import { ConfigError } from "../../infra/config/index.ts";
import { cliFailure, parseCommandLine, runCli } from "../../lib/cli.ts";
import { CliUsageError, CommandFailedError, PoolingError } from "../../lib/errors.ts";
import { PROJECT_DIR } from "../../local/stack.ts";

class FixableError extends PoolingError {
  readonly code = "POOLING_TEST_FIXABLE";
}

describe("runCli", () => {
  let written = "";
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
    written = "";
  });
  const capture = () => vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((written += String(chunk)), true));

  it("exits with main's status, 0 when main returns nothing", async () => {
    capture();
    expect(await runCli(() => 3, { argv: [] })).toBe(3);
    expect(process.exitCode).toBe(3);
    expect(await runCli(async () => undefined, { argv: [] })).toBe(0);
    expect(written).toBe("");
  });

  it("tells bad input by code and message, no stack, exit 2", async () => {
    capture();
    const status = await runCli(() => void parseCommandLine({ args: ["--bogus"], options: {} }, "Usage: x [--y]"), { argv: [] });
    expect(status).toBe(2);
    expect(written).toMatch(/^error POOLING_CLI_USAGE: Unknown option '--bogus'[^\n]*\n\nUsage: x \[--y\]\n$/);
  });

  it("tells a failure by code, message and fix, no stack, exit 1", async () => {
    capture();
    const status = await runCli(
      () => {
        throw new FixableError("the thing failed", { fix: "do the other thing" });
      },
      { argv: [], prefix: "[t] " },
    );
    expect(status).toBe(1);
    expect(written).toBe("[t] error POOLING_TEST_FIXABLE: the thing failed\nfix: do the other thing\n");
  });

  it("tells an unexpected error as a bug, with its stack, exit 1", async () => {
    capture();
    const status = await runCli(
      async () => {
        throw new TypeError("x is undefined");
      },
      { argv: [] },
    );
    expect(status).toBe(1);
    expect(written).toMatch(/^unexpected error \(a bug\): TypeError: x is undefined\n\s+at /);
  });

  it("exits 2 for an invalid stack file and 1 for a failed command", () => {
    expect(cliFailure(new ConfigError("dev", [{ key: "pooling:postgres.maxConnections", value: 0, message: "too small" }])).status).toBe(2);
    expect(cliFailure(new CommandFailedError(["nft", "list", "ruleset"], 1, "")).text).toBe("error POOLING_COMMAND_FAILED: nft list ruleset failed (exit 1): no output");
  });
});

describe("entry points", () => {
  // Every command a user runs, from package.json's scripts, and the processes the commands start.
  const scripts = Object.values((JSON.parse(readFileSync(join(PROJECT_DIR, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts);
  const fromScripts = scripts.flatMap((s) => [...s.matchAll(/--import tsx (\S+\.ts)/g)].map((m) => m[1]!));
  const entryPoints = [...new Set([...fromScripts, "cluster/daemon.ts", "pods/node/main.ts"])].sort();

  it("are found (the list below is not empty by accident)", () => {
    expect(entryPoints).toEqual(expect.arrayContaining(["local/cli.ts", "infra/cli/render.ts", "pods/cli.ts", "bench/cli.ts", "test/faults/cli.ts", "scripts/pulumi.ts", "toolchain/cli.ts", "cluster/cli.ts"]));
  });

  it.each(entryPoints)("%s ends through runCli and sets no exit status of its own for errors", (file) => {
    const text = readFileSync(join(PROJECT_DIR, file), "utf8");
    expect(text).toMatch(/\brunCli\(/);
    expect(text).not.toMatch(/process\.exitCode =|(err|error)\.stack/);
  });

  it("npm run render exits 2 with the config error's code for an invalid stack file, and no stack trace", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "infra/cli/render.ts", "--config-file", join(PROJECT_DIR, "test", "unit", "no-such-stack.yaml"), "--out", "/nonexistent"], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error POOLING_INVALID_CONFIG: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("npm run test:faults refuses an unknown flag with the usage, exit 2, before starting anything", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "test/faults/cli.ts", "--bogus"], { cwd: PROJECT_DIR, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^\[faults\] error POOLING_CLI_USAGE: Unknown option '--bogus'[\s\S]*npm run test:faults -- \[options\]/);
  });
});

describe("error catalog", () => {
  const source = (body: string): Array<[string, string]> => [["lib/errors.ts", readFileSync(join(PROJECT_DIR, "lib", "errors.ts"), "utf8")], ["x/errors.ts", body]];

  it("lists every error of the project with a unique code (the two CommandFailedErrors are one)", () => {
    const catalog = errorCatalog(errorSources(PROJECT_DIR));
    expect(catalog.filter((e) => e.name === "CommandFailedError")).toHaveLength(1);
    expect(catalog.find((e) => e.name === "ConfigError")).toMatchObject({ code: "POOLING_INVALID_CONFIG", exit: 2 });
    expect(catalog.find((e) => e.name === "NotReadyError")).toMatchObject({ code: "POOLING_PODS_NOT_READY", exit: 1 });
  });

  it("refuses a coded error that is not a PoolingError", () => {
    expect(() => errorCatalog(source('/** x */\nexport class Odd extends Error {\n  readonly code = "POOLING_ODD";\n}\n'))).toThrow(/Odd \(x\/errors\.ts\) has a code but does not extend PoolingError/);
  });

  it("refuses two classes of one name, and two classes of one code", () => {
    expect(() => errorCatalog(source('/** x */\nexport class CliUsageError extends PoolingError {\n  readonly code = "POOLING_OTHER";\n}\n'))).toThrow(/two classes are named CliUsageError/);
    expect(() => errorCatalog(source('/** x */\nexport class Again extends PoolingError {\n  readonly code = "POOLING_CLI_USAGE";\n}\n'))).toThrow(/CliUsageError and Again share the code POOLING_CLI_USAGE/);
  });

  it("refuses an error class with no doc comment", () => {
    expect(() => errorCatalog(source('export class Bare extends PoolingError {\n  readonly code = "POOLING_BARE";\n}\n'))).toThrow(/Bare \(x\/errors\.ts\) has no doc comment/);
  });

  it("CliUsageError is bad input", () => {
    expect(cliFailure(new CliUsageError("x")).status).toBe(2);
  });
});
