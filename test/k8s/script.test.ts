/** scripts/pulumi.ts, the `npm run up | preview | down` wrapper, as far as it runs without the tools. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DEV_PASSPHRASE, missingTools, parseCommand, passphraseEnv } from "../../scripts/pulumi.ts";
import { PROJECT_DIR } from "./fixtures.ts";

describe("scripts/pulumi.ts", () => {
  it("maps down to pulumi destroy and passes the rest to pulumi", () => {
    expect(parseCommand(["up", "--yes"])).toEqual({ command: "up", pulumiArgs: ["--yes"] });
    expect(() => parseCommand(["apply"])).toThrow(/usage: tsx scripts\/pulumi\.ts <up\|preview\|down>/);
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

  it("exits 1 with a clear message, touching nothing, when pulumi, kind and docker are missing", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/pulumi.ts", "preview"], {
      cwd: PROJECT_DIR,
      env: { PATH: "/nonexistent" },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^npm run preview cannot start:\n {2}- `pulumi` was not found on PATH[^\n]*\n {2}- `kind`[^\n]*\n {2}- `docker`/);
  });
});
