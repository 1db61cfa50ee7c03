/** User errors of infra/ and local/: each a PoolingError with a stable code, told by CLIs without a stack. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { withReference } from "../../infra/cli/docs.ts";
import { loadStackFile } from "../../infra/config/file.ts";
import { ConfigError } from "../../infra/config/index.ts";
import { CliUsageError, describeCliError, PoolingError } from "../../infra/errors.ts";
import { generateSecrets } from "../../infra/render/index.ts";
import { layoutOf, makeDirs } from "../../local/files.ts";
import { rawStackConfig } from "../../local/run-state.ts";
import { loadOrCreateSecrets } from "../../local/secrets.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-errors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("error classes", () => {
  it("name each error after its class and keep the code apart from the message", () => {
    const err = new CliUsageError("unknown option '--bogus'");
    expect(err).toBeInstanceOf(PoolingError);
    expect(err).toMatchObject({ name: "CliUsageError", code: "POOLING_CLI_USAGE", message: "unknown option '--bogus'" });
  });

  it("a missing stack file is a ConfigError naming the file, also on the local stack's override path", () => {
    const missing = join(dir, "Pulumi.gone.yaml");
    const expected = expect.objectContaining({ code: "POOLING_INVALID_CONFIG", message: expect.stringContaining(`cannot read the stack file ${missing}: ENOENT`) });
    expect(() => loadStackFile(missing)).toThrow(expected);
    expect(() => rawStackConfig(missing, "gone", { pgbouncer: { defaultPoolSize: 5 } })).toThrow(ConfigError);
  });

  it("a data folder the server user cannot reach is POOLING_DATA_DIR_UNREACHABLE, naming the folder that stops it", () => {
    const locked = join(dir, "locked");
    mkdirSync(locked, { mode: 0o700 });
    chmodSync(locked, 0o700);
    // A user that neither owns the folder nor is in its group: only the "other" bits apply, and they are 0.
    const stranger = { uid: process.getuid!() + 4242, gid: process.getgid!() + 4242, name: "stranger" };
    expect(() => makeDirs(layoutOf(join(locked, "data")), stranger)).toThrow(
      expect.objectContaining({ name: "DataDirUnreachableError", code: "POOLING_DATA_DIR_UNREACHABLE", message: expect.stringContaining(`cannot enter ${locked}:`) }),
    );
  });

  it("a secrets file that is not JSON is POOLING_SECRETS_FILE_INVALID", () => {
    const file = join(dir, "broken-secrets.json");
    writeFileSync(file, "{ not json");
    expect(() => loadOrCreateSecrets(file)).toThrow(expect.objectContaining({ code: "POOLING_SECRETS_FILE_INVALID", message: expect.stringContaining(file) }));
  });

  it("a hand-edited secrets file is refused by key, without showing the secret", () => {
    const file = join(dir, "edited-secrets.json");
    const secrets = { ...generateSecrets(), redisPassword: "has/slash-and-secret" };
    writeFileSync(file, JSON.stringify(secrets));
    let err: unknown;
    try {
      loadOrCreateSecrets(file);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "POOLING_SECRETS_FILE_INVALID", message: expect.stringContaining("redisPassword: URL-safe") });
    expect((err as Error).message).not.toContain("has/slash-and-secret");
  });

  it("a valid secrets file is read back as written", () => {
    const file = join(dir, "secrets.json");
    const first = loadOrCreateSecrets(file);
    expect(loadOrCreateSecrets(file)).toEqual(first);
  });

  it("a config reference page without its generated-part markers is POOLING_DOCS_MARKERS", () => {
    expect(() => withReference("# Config\n")).toThrow(expect.objectContaining({ code: "POOLING_DOCS_MARKERS", name: "DocsMarkerError" }));
  });
});

describe("describeCliError", () => {
  it("tells a user error by its code and message, with no stack trace", () => {
    const text = describeCliError(new CliUsageError("--out DIR is required"));
    expect(text).toBe("error POOLING_CLI_USAGE: --out DIR is required");
  });

  it("tells anything else as a bug, with its stack", () => {
    const text = describeCliError(new TypeError("x is undefined"));
    expect(text).toMatch(/^unexpected error \(a bug\): TypeError: x is undefined\n\s+at /);
  });
});
