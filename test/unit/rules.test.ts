import { describe, expect, test } from "vitest";
import { CROSS_FIELD_RULES, type FieldPath } from "../../infra/config/checks.ts";
import { rawStackSchema, type ParsedStackConfig } from "../../infra/config/schema.ts";

/** Runs `check` on `cfg` and returns every `section.field` it read. */
function fieldsRead(check: (cfg: ParsedStackConfig) => unknown, cfg: ParsedStackConfig): Set<string> {
  const read = new Set<string>();
  const sections = Object.fromEntries(
    Object.entries(cfg).map(([section, value]) => [
      section,
      typeof value === "object" && value !== null
        ? new Proxy(value, {
            get(target, field, receiver) {
              if (typeof field === "string") read.add(`${section}.${field}`);
              return Reflect.get(target, field, receiver) as unknown;
            },
          })
        : value,
    ]),
  );
  check(sections as ParsedStackConfig);
  return read;
}

// Configs that take each rule down its failing branch as well as its passing one.
const CONFIGS = [
  {},
  { postgres: { maxConnections: 10, superuserReservedConnections: 5, headroomConnections: 5 } },
  { postgres: { maxConnections: 30 }, pgbouncer: { defaultPoolSize: 10, minPoolSize: 11, reservePoolSize: 10 } },
  { probe: { replicas: 3, postgresPoolMax: 400 }, redis: { maxClients: 2 } },
  { postgres: { lockTimeout: "2m", statementTimeout: "90s", sharedBuffers: "900MB", effectiveCacheSize: "2Gi", workMem: "64MB" }, pgbouncer: { clientIdleTimeout: "5s" } },
  { pgbouncer: { reservePoolTimeout: "5m", serverConnectTimeout: "5m", version: "1.20", maxPreparedStatements: 10 }, probe: { httpKeepAliveTimeout: "9s" } },
  { redis: { maxMemory: "1Gi" }, postgres: { user: "postgres", database: "pgbouncer" }, pgbouncer: { adminUser: "postgres", statsUser: "postgres" } },
  { tls: { enabled: false, clientCertificates: true, lifetime: "10d", renewBefore: "6d" } },
  { pgbouncer: { version: "1.6" } },
  { pgbouncer: { maxClientConn: 10_000 } },
  { cluster: { type: "existing" } },
  { cluster: { probeImage: "registry.example.com/team/pooling-probe:1.4.0", probeRegistry: "registry.example.com/team" } },
].map((raw) => rawStackSchema.parse(raw));

describe("cross-field rules", () => {
  test("every rule reads only the fields it declares", () => {
    for (const [i, rule] of CROSS_FIELD_RULES.entries()) {
      const read = new Set<string>();
      for (const cfg of CONFIGS) for (const f of fieldsRead((c) => rule.check(c), cfg)) read.add(f);
      expect([...read].filter((f) => !rule.needs.includes(f as FieldPath)), `rule ${i} (needs ${rule.needs.join(", ")})`).toEqual([]);
    }
  });

  test("every rule reports a problem for at least one of the test configs", () => {
    for (const [i, rule] of CROSS_FIELD_RULES.entries()) {
      expect(CONFIGS.some((cfg) => rule.check(cfg).length > 0), `rule ${i} (needs ${rule.needs.join(", ")})`).toBe(true);
    }
  });
});
