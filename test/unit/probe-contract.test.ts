/**
 * The probe ships alone and keeps its own copy of its defaults, ranges and keep-alive rule
 * (app-probe/src/env.ts); infra keeps the stack's (infra/config). These tests fail when the copies differ.
 */
import { describe, expect, test } from "vitest";
import { PROBE_ENV, PROBE_ENV_DEFAULTS, ProbeEnvError, loadProbeEnv, type ProbeEnvIssue } from "../../app-probe/src/env.ts";
import { checkStackConfig, formatDuration, parseDuration, parseStackConfig, type StackConfig } from "../../infra/config/index.ts";
import { probeSchema } from "../../infra/config/schema.ts";
import { probeEnvironment } from "../../infra/render/probe.ts";

const ENDPOINTS = { databaseUrl: "postgresql://app:pw@pgbouncer:6432/app", redisUrl: "redis://default:pw@redis:6379", host: "0.0.0.0" };
const DEFAULTS = parseStackConfig({}, { stack: "test" });
type ProbeField = keyof StackConfig["probe"];

function render(probe: Partial<Record<ProbeField, unknown>>): Record<string, string> {
  return probeEnvironment({ ...DEFAULTS, probe: { ...DEFAULTS.probe, ...probe } } as StackConfig, ENDPOINTS);
}

/** The variable each probe key becomes, found by changing the key alone and seeing which variable follows. */
function variableOf(field: ProbeField): string | undefined {
  const value = DEFAULTS.probe[field];
  const changed = render({ [field]: typeof value === "number" ? value + 1 : `${value}0` });
  const base = render({});
  const moved = Object.keys(changed).filter((v) => changed[v] !== base[v]);
  expect(moved.length, `${field} moves ${moved.join(", ")}`).toBeLessThanOrEqual(1);
  return moved[0];
}

const FIELDS = Object.keys(probeSchema.shape) as ProbeField[];
const MAPPED = FIELDS.flatMap((field) => {
  const variable = variableOf(field);
  return variable === undefined ? [] : [{ field, variable }];
});

/** The range a probe key documents: "integer 1..10000" or "duration 1ms..10m". */
function schemaRange(field: ProbeField): { min: number; max: number; write: (n: number) => unknown } {
  const kind = (probeSchema.shape[field].meta() as { kind: string }).kind;
  const m = /^(integer|duration) (\S+)\.\.(\S+)$/.exec(kind);
  if (!m) throw new Error(`pooling:probe.${field} becomes a probe variable but documents no range (kind "${kind}"); give it the probe's range`);
  const isDuration = m[1] === "duration";
  const num = (s: string) => (isDuration ? parseDuration(s)! : Number(s));
  return { min: num(m[2]!), max: num(m[3]!), write: isDuration ? (n) => `${n}ms` : (n) => n };
}

/** The probe's problems with one variable set to `value`, all else valid. */
function probeIssues(env: Record<string, string>): ProbeEnvIssue[] {
  try {
    loadProbeEnv({ DATABASE_URL: ENDPOINTS.databaseUrl, REDIS_URL: ENDPOINTS.redisUrl, ...env });
    return [];
  } catch (err) {
    if (!(err instanceof ProbeEnvError)) throw err;
    return [...err.issues];
  }
}
const rangeRefused = (variable: string, value: number) =>
  probeIssues({ [variable]: String(value) }).some((i) => i.variable === variable && i.message.startsWith("must be an integer"));

describe("the probe's contract with the stack config", () => {
  test("every probe key but the pod's own (replicas, cpu, memory) becomes a probe variable", () => {
    expect(FIELDS.filter((f) => !MAPPED.some((m) => m.field === f))).toEqual(["replicas", "cpu", "memory"]);
  });

  test("a stack that sets nothing renders exactly the probe's own defaults", () => {
    for (const { field, variable } of MAPPED) {
      expect(PROBE_ENV_DEFAULTS, `pooling:probe.${field} → ${variable}`).toHaveProperty(variable, render({})[variable]);
    }
  });

  test("the probe accepts every value the stack config accepts for a key", () => {
    for (const { field, variable } of MAPPED) {
      const { min, max } = schemaRange(field);
      expect(rangeRefused(variable, min), `${variable} = ${min}, the least of pooling:probe.${field}`).toBe(false);
      expect(rangeRefused(variable, max), `${variable} = ${max}, the most of pooling:probe.${field}`).toBe(false);
    }
  });

  test("the probe refuses just outside the stack config's range, except port 0, which asks the OS for a free port", () => {
    for (const { field, variable } of MAPPED) {
      const { min, max, write } = schemaRange(field);
      const refusedBelow = min === 0 || rangeRefused(variable, min - 1);
      expect(refusedBelow, `${variable} = ${min - 1}, below pooling:probe.${field}`).toBe(variable !== PROBE_ENV.port);
      expect(rangeRefused(variable, max + 1), `${variable} = ${max + 1}, above pooling:probe.${field}`).toBe(true);
      if (min > 0) expect(checkStackConfig({ probe: { [field]: write(min - 1) } }, { stack: "test" }).ok, `pooling:probe.${field} below ${min}`).toBe(false);
      expect(checkStackConfig({ probe: { [field]: write(max + 1) } }, { stack: "test" }).ok, `pooling:probe.${field} above ${max}`).toBe(false);
    }
  });

  test("the keep-alive ordering rule refuses the same pairs in infra and in the probe", () => {
    const grid = [1, 999, 1000, 3999, 4000, 4001, 5000, 60_000, 600_000];
    const verdicts = new Set<boolean>();
    for (const client of grid) {
      for (const server of grid) {
        const result = checkStackConfig({ probe: { httpKeepAliveTimeout: formatDuration(client), serverKeepAliveTimeout: formatDuration(server) } }, { stack: "test" });
        const infraRefuses = !result.ok && result.problems.some((p) => p.key === "pooling:probe.httpKeepAliveTimeout");
        const env = render({ httpKeepAliveTimeout: client, serverKeepAliveTimeout: server });
        const probeRefuses = probeIssues(env).some((i) => i.variable === PROBE_ENV.serverKeepAliveTimeoutMs);
        expect(probeRefuses, `client ${client}ms, server ${server}ms`).toBe(infraRefuses);
        verdicts.add(infraRefuses);
      }
    }
    expect([...verdicts].sort()).toEqual([false, true]);
  });
});
