/**
 * Which PgBouncer figures `npm start -- --monitoring` uses: pgbouncer_exporter when the toolchain has
 * built it at the pinned version, else none (the probe's figures stand in).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findPgbouncerExporter } from "../../local/monitoring.ts";
import { EXPORTERS } from "../../toolchain/versions.ts";

describe("findPgbouncerExporter", () => {
  const root = mkdtempSync(join(tmpdir(), "pooling-toolchain-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const env = { POOLING_TOOLCHAIN_DIR: root };
  const stamp = (version: string) => {
    mkdirSync(join(root, "work", "pgbouncer_exporter"), { recursive: true });
    writeFileSync(join(root, "work", "pgbouncer_exporter", ".stamp.json"), JSON.stringify({ version, binaries: ["pgbouncer_exporter"], seconds: 1, builtAt: "" }));
  };

  it("finds nothing in a toolchain that has not built it", () => {
    expect(findPgbouncerExporter(env)).toBeUndefined();
  });

  it("finds the binary once it is there with a stamp for the pinned version, and not for another version", () => {
    mkdirSync(join(root, "bin"), { recursive: true });
    writeFileSync(join(root, "bin", "pgbouncer_exporter"), "");
    stamp("v0.0.1");
    expect(findPgbouncerExporter(env)).toBeUndefined();
    stamp(`v${EXPORTERS.pgbouncerExporter}`);
    expect(findPgbouncerExporter(env)).toBe(join(root, "bin", "pgbouncer_exporter"));
  });
});
