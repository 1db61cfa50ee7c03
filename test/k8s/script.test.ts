/** scripts/pulumi.ts, the `npm run up | preview | down` wrapper, as far as it runs without the tools. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DEV_PASSPHRASE, backendUrl, fileBackendDir, missingTools, parseCommand, passphraseEnv, pulumiCommandLine } from "../../scripts/pulumi.ts";
import { PROJECT_DIR } from "./fixtures.ts";

describe("scripts/pulumi.ts", () => {
  it("maps down to pulumi destroy and passes the rest to pulumi", () => {
    expect(parseCommand(["up", "--yes"])).toEqual({ command: "up", cluster: "kind", pulumiArgs: ["--yes"] });
    expect(() => parseCommand(["apply"])).toThrow(/usage: tsx scripts\/pulumi\.ts <up\|preview\|down>/);
    expect(() => parseCommand([])).toThrow(expect.objectContaining({ code: "POOLING_CLI_USAGE" }));
  });

  it("takes --cluster and --render-to out of the arguments, in either spelling, and passes the rest to pulumi", () => {
    expect(parseCommand(["preview", "--cluster", "local", "--diff"])).toEqual({ command: "preview", cluster: "local", pulumiArgs: ["--diff"] });
    expect(parseCommand(["up", "--yes", "--cluster=kind"])).toEqual({ command: "up", cluster: "kind", pulumiArgs: ["--yes"] });
    expect(parseCommand(["up", "--render-to", "/tmp/out", "--yes"])).toMatchObject({ command: "up", renderTo: "/tmp/out", pulumiArgs: ["--yes"] });
    expect(parseCommand(["up", "--", "--cluster", "x"])).toEqual({ command: "up", cluster: "kind", pulumiArgs: ["--", "--cluster", "x"] });
    expect(() => parseCommand(["up", "--cluster", "minikube"])).toThrow(/--cluster minikube is not a cluster; use kind or local/);
    expect(() => parseCommand(["preview", "--cluster"])).toThrow(/--cluster needs a value/);
    expect(() => parseCommand(["preview", "--render-to", "/tmp/out"])).toThrow(/--render-to goes with up only/);
  });

  it("takes the backend from PULUMI_BACKEND_URL over Pulumi.yaml, as Pulumi does", () => {
    const yaml = "name: pooling\nbackend:\n  url: file://~/.pulumi-pooling\n";
    expect(backendUrl({}, yaml)).toEqual({ url: "file://~/.pulumi-pooling", source: "Pulumi.yaml's backend.url" });
    expect(backendUrl({ PULUMI_BACKEND_URL: "file:///state" }, yaml)).toEqual({ url: "file:///state", source: "PULUMI_BACKEND_URL" });
    expect(backendUrl({ PULUMI_BACKEND_URL: "" }, yaml)?.url).toBe("file://~/.pulumi-pooling");
    expect(backendUrl({}, "name: pooling\n")).toBeUndefined();
  });

  it("reads a file:// backend's folder the way Pulumi does: ~ is the home directory, the query is dropped", () => {
    expect(fileBackendDir("file://~/.pulumi-pooling", "/home/u", "/project")).toBe("/home/u/.pulumi-pooling");
    expect(fileBackendDir("file://~", "/home/u", "/project")).toBe("/home/u");
    expect(fileBackendDir("file:///var/state?no_tmp_dir=false", "/home/u", "/project")).toBe("/var/state");
    expect(fileBackendDir("file://state", "/home/u", "/project")).toBe("/project/state");
    expect(fileBackendDir("s3://bucket/state", "/home/u", "/project")).toBeUndefined();
  });

  it("adds --refresh unless the caller already chose, in any spelling", () => {
    expect(pulumiCommandLine("down", [])).toEqual(["destroy", "--stack", "dev", "--refresh"]);
    for (const given of ["--refresh", "--refresh=false", "-r", "-yr"]) expect(pulumiCommandLine("up", [given])).toEqual(["up", "--stack", "dev", given]);
    expect(pulumiCommandLine("preview", ["--diff", "--", "-r"])).toEqual(["preview", "--stack", "dev", "--refresh", "--diff", "--", "-r"]);
  });

  it("names every missing tool and where to get it", () => {
    expect(missingTools("up", (t) => t === "pulumi")).toEqual([
      expect.stringMatching(/^`kind` was not found on PATH\. Install kind, for the local cluster: https:/),
      expect.stringMatching(/^`docker` was not found on PATH\. Install Docker/),
    ]);
    expect(missingTools("down", () => true)).toEqual([]);
  });

  it("uses the dev passphrase only when the caller set none", () => {
    expect(passphraseEnv({}).env.PULUMI_CONFIG_PASSPHRASE).toBe(DEV_PASSPHRASE);
    expect(passphraseEnv({ PULUMI_CONFIG_PASSPHRASE: "" })).toMatchObject({ defaulted: false, env: { PULUMI_CONFIG_PASSPHRASE: "" } });
    expect(passphraseEnv({ PULUMI_CONFIG_PASSPHRASE_FILE: "/p" }).defaulted).toBe(false);
  });

  it("refuses an unknown command with its code and no stack trace, exit 2", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/pulumi.ts", "apply"], { cwd: PROJECT_DIR, env: { PATH: "/nonexistent" }, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("error POOLING_CLI_USAGE: usage: tsx scripts/pulumi.ts <up|preview|down> [--cluster kind|local] [--render-to DIR] [pulumi arguments]\n");
  });

  it("exits 1 with a clear message, touching nothing, when pulumi, kind and docker are missing", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/pulumi.ts", "preview"], {
      cwd: PROJECT_DIR,
      // No toolchain either: the CLI it would build is a fallback for a missing `pulumi`.
      env: { PATH: "/nonexistent", POOLING_TOOLCHAIN_DIR: "/nonexistent" },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error POOLING_PREREQUISITES_MISSING: npm run preview cannot start:\n {2}- `pulumi` was not found on PATH[^\n]*\n {2}- `kind`[^\n]*\n {2}- `docker`/);
  });
});
