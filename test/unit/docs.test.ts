import { describe, expect, test } from "vitest";
import { configKeys, configReferenceMarkdown, pulumiProjectConfig } from "../../infra/config/docs.ts";
import { z } from "zod";
import { rawStackSchema, SECTIONS } from "../../infra/config/schema.ts";
import { MIN_DERIVED_POOL_SIZE, SERVER_CONNECTIONS_PER_CPU } from "../../infra/config/pools.ts";

const DERIVED_POOL = `derived: max(${MIN_DERIVED_POOL_SIZE}, ⌈${SERVER_CONNECTIONS_PER_CPU} × postgres.cpu ÷ pgbouncer.replicas⌉)`;

const KEYS = configKeys();
/**
 * Every key the stack schema accepts, read from its JSON Schema: a walk of `rawStackSchema` that
 * does not go through `SECTIONS`, so a section or field that configKeys() misses shows up here.
 */
function acceptedKeys(): string[] {
  type Props = { properties: Record<string, { properties?: Record<string, unknown> }> };
  const top = z.toJSONSchema(rawStackSchema, { io: "input", unrepresentable: "any" }) as unknown as Props;
  return Object.entries(top.properties).flatMap(([name, p]) => (p.properties ? Object.keys(p.properties).map((field) => `${name}.${field}`) : [name]));
}

describe("configKeys", () => {
  test("documents every key the stack schema accepts, in schema order", () => {
    expect(KEYS.map((k) => k.key)).toEqual(acceptedKeys());
  });

  test("lists every key once", () => {
    expect(new Set(KEYS.map((k) => k.key)).size).toBe(KEYS.length);
  });

  test("every key has a description that is a sentence", () => {
    for (const k of KEYS) expect(k.description, k.key).toMatch(/^\S.*\.$/s);
  });

  test("every key has a type", () => {
    for (const k of KEYS) expect(k.kind, k.key).not.toBe("");
  });

  test("every key has a default or says it is derived", () => {
    for (const k of KEYS) expect(k.default, k.key).not.toBe("");
  });

  test("only the optional fields are derived", () => {
    expect(KEYS.filter((k) => k.default === "derived").map((k) => k.key)).toEqual([
      "postgres.sharedBuffers",
      "postgres.effectiveCacheSize",
      "pgbouncer.maxPreparedStatements",
      "redis.maxMemory",
    ]);
  });

  test("shows durations and sizes in their short written form", () => {
    const byKey = new Map(KEYS.map((k) => [k.key, k]));
    expect(byKey.get("pgbouncer.queryTimeout")).toMatchObject({ kind: "duration", default: "1m" });
    expect(byKey.get("pgbouncer.clientIdleTimeout")).toMatchObject({ kind: "duration", default: "0s" });
    expect(byKey.get("postgres.memory")).toMatchObject({ kind: "size", default: "1Gi" });
    expect(byKey.get("pgbouncer.maxClientConn")).toMatchObject({ kind: "integer 1..100000", default: "1000" });
    expect(byKey.get("pgbouncer.poolMode")).toMatchObject({ kind: "session, transaction, statement", default: "transaction" });
    expect(byKey.get("namespace")).toMatchObject({ kind: "dns label", default: "pooling" });
  });

  test("shows how a derived pool size is derived instead of a number", () => {
    const byKey = new Map(KEYS.map((k) => [k.key, k]));
    expect(byKey.get("pgbouncer.defaultPoolSize")).toMatchObject({ kind: "integer 1..10000", default: DERIVED_POOL });
    expect(byKey.get("pgbouncer.minPoolSize")?.default).toBe("derived: 40% of defaultPoolSize, rounded");
    expect(byKey.get("pgbouncer.reservePoolSize")?.default).toBe("derived: 20% of defaultPoolSize, rounded, at least 1");
    expect(byKey.get("pgbouncer.defaultPoolSize")?.description).toMatch(/docs\/performance/);
  });
});

describe("configReferenceMarkdown", () => {
  const rows = configReferenceMarkdown().split("\n");

  test("has a header and one row per key", () => {
    expect(rows[0]).toBe("| key | type | default | what it sets |");
    expect(rows).toHaveLength(KEYS.length + 2);
  });

  test("names each key in its full dotted form", () => {
    expect(rows[2]).toMatch(/^\| `pooling:namespace` \| /);
    expect(rows).toContain("| `pooling:pgbouncer.maxClientConn` | integer 1..100000 | `1000` | max_client_conn: client connections one PgBouncer accepts. |");
  });
});

describe("pulumiProjectConfig", () => {
  const config = pulumiProjectConfig();

  test("declares the namespace and one object per section", () => {
    expect(Object.keys(config)).toEqual(["namespace", ...Object.keys(SECTIONS)]);
    expect(config.namespace).toMatchObject({ type: "string", default: "pooling" });
  });

  test("lists every field of a section in its description", () => {
    for (const [section, schema] of Object.entries(SECTIONS)) {
      for (const field of Object.keys(schema.shape)) expect(config[section]!.description, `${section}.${field}`).toMatch(new RegExp(`^${field} \\(`, "m"));
    }
  });
});
