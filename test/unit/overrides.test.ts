import { describe, expect, test } from "vitest";
import { parseStackConfig } from "../../infra/config/index.ts";
import { checkSweepValues, parseSweepSpec, sweepOverride, SweepSpecError } from "../../bench/sweep-spec.ts";
import { mergeRaw } from "../../infra/config/overrides.ts";

const load = (overrides?: Record<string, unknown>) => parseStackConfig(mergeRaw({ pgbouncer: { minPoolSize: 0 } }, overrides), { stack: "test" });
const CONFIG = load();

function refused(spec: string): string {
  try {
    checkSweepValues(parseSweepSpec(spec, CONFIG), load);
  } catch (err) {
    expect(err).toBeInstanceOf(SweepSpecError);
    return (err as Error).message;
  }
  return expect.fail(`expected --sweep ${spec} to be refused`);
}

describe("--sweep section.key=v1,v2,…", () => {
  test("reads the key, its values in order, and the stack's own value", () => {
    expect(parseSweepSpec("pgbouncer.defaultPoolSize=2,4, 8", CONFIG)).toEqual({
      section: "pgbouncer",
      field: "defaultPoolSize",
      path: "pgbouncer.defaultPoolSize",
      values: [2, 4, 8],
      current: CONFIG.pgbouncer.defaultPoolSize,
    });
  });

  test("takes the key with its pooling: prefix too", () => {
    expect(parseSweepSpec("pooling:postgres.maxConnections=100,150", CONFIG).path).toBe("postgres.maxConnections");
  });

  test("refuses an unknown key and lists the numeric ones", () => {
    const message = refused("pgbouncer.poolSize=2,4");
    expect(message).toContain('unknown stack key "pgbouncer.poolSize"');
    expect(message).toContain("pgbouncer.defaultPoolSize");
    expect(message).not.toContain("pgbouncer.poolMode");
  });

  test("refuses a key that does not hold a number", () => {
    expect(refused("pgbouncer.poolMode=1,2")).toContain('pooling:pgbouncer.poolMode is not numeric (it is "transaction" in this stack)');
  });

  test("refuses values that are not numbers, naming them", () => {
    expect(refused("pgbouncer.defaultPoolSize=2,four,")).toContain('"four", "" are not numbers');
  });

  test("refuses a spec without values, a single value and a repeated one", () => {
    expect(refused("pgbouncer.defaultPoolSize")).toContain("expected section.key=v1,v2");
    expect(refused("pgbouncer.defaultPoolSize=8")).toContain("at least two values");
    expect(refused("pgbouncer.defaultPoolSize=8,16,8")).toContain("8 given more than once");
  });

  test("refuses a value the stack config refuses, with the config's own message", () => {
    const message = refused("pgbouncer.defaultPoolSize=8,1000");
    expect(message).toContain("--sweep pooling:pgbouncer.defaultPoolSize=1000 is refused by the stack config");
    expect(message).toContain("pooling:pgbouncer.defaultPoolSize = 1000: the PgBouncer pools need more server connections than PostgreSQL can give");
  });

  test("parses every accepted value into a config that holds it", () => {
    const sweep = parseSweepSpec("pgbouncer.defaultPoolSize=4,8", CONFIG);
    expect(checkSweepValues(sweep, load).map((c) => c.pgbouncer.defaultPoolSize)).toEqual([4, 8]);
    expect(sweepOverride(sweep, 4)).toEqual({ pgbouncer: { defaultPoolSize: 4 } });
  });
});

describe("mergeRaw", () => {
  test("merges mappings key by key and replaces anything else", () => {
    expect(mergeRaw({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2] }, e: 2 })).toEqual({ a: { b: 1, c: [2] }, d: 1, e: 2 });
    expect(mergeRaw({ a: 1 }, undefined)).toEqual({ a: 1 });
  });
});
