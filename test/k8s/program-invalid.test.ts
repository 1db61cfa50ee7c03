/** An invalid stack fails the program before a single resource is registered. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, expect, it } from "vitest";
import { devRaw, engineConfig } from "./fixtures.ts";
import { recorded, setRecordingMocks, settled } from "./pulumi-mocks.ts";

beforeAll(async () => {
  await setRecordingMocks();
});

it("throws a RunError carrying the ConfigError naming pooling:pgbouncer.defaultPoolSize and registers nothing", async () => {
  const raw = devRaw();
  raw.pgbouncer = { ...(raw.pgbouncer as object), defaultPoolSize: 120 };
  pulumi.runtime.setAllConfig(engineConfig(raw));
  const error = await import("../../infra/index.ts").then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toMatchObject({ name: "InvalidStackConfig", code: "POOLING_INVALID_CONFIG", configError: { name: "ConfigError" } });
  // A pulumi.RunError: the Node.js runner prints its message alone, no stack trace.
  expect(pulumi.RunError.isInstance(error)).toBe(true);
  expect((error as Error).message).toMatch(/pooling:pgbouncer\.defaultPoolSize = 120: the PgBouncer pools need more server connections than PostgreSQL can give/);
  // Every registration the import started has finished (or none was started): nothing was registered.
  await settled();
  expect(recorded).toEqual([]);
});
