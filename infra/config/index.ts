/**
 * The one place stack config becomes a typed, validated, frozen StackConfig. Invalid input yields every
 * problem at once, each naming its full key; nothing downstream ever sees an unchecked value.
 */
import type { z } from "zod";
import { InputError } from "../errors.ts";
import { CROSS_FIELD_RULES, derivedMemory, compareVersions, key, type FieldPath, type Problem } from "./checks.ts";
import { rawStackSchema, REMOVED_KEYS, SECTIONS, type ParsedStackConfig } from "./schema.ts";
import { show } from "./fields.ts";
import { imageProblems } from "./images.ts";
import { clusterSetting, type ClusterSetting } from "./cluster.ts";
import { defaultPoolSizeOf, derivedPoolSizeKeys, minPoolSizeOf, reservePoolSizeOf, type PoolSizeKey } from "./pools.ts";

export type { Problem } from "./checks.ts";
export { connectionBudget, PGBOUNCER_MEMORY, PGBOUNCER_ROLLOUT, PGBOUNCER_ROLLOUT_EXTRA_PODS, pgbouncerClientBytes, pgbouncerMemoryNeeded } from "./checks.ts";
export { formatDuration, formatSize, parseDuration, parseSize } from "./units.ts";
export { EXPORTER_BINARIES, EXPORTER_IMAGES, serverImages } from "./images.ts";
export { poolDerivationNote, SERVER_CONNECTIONS_PER_CPU } from "./pools.ts";
export { PROBE_REPOSITORY, registryServer, type ClusterSetting, type ProbeImageSetting } from "./cluster.ts";

type Parsed = ParsedStackConfig;

/** The validated stack: durations in ms, sizes in bytes, derived values filled in, deeply frozen. */
export type StackConfig = Readonly<{
  stack: string;
  namespace: string;
  postgres: Readonly<Omit<Parsed["postgres"], "sharedBuffers" | "effectiveCacheSize"> & { sharedBuffers: number; effectiveCacheSize: number }>;
  pgbouncer: Readonly<Omit<Parsed["pgbouncer"], "maxPreparedStatements" | PoolSizeKey> & {
    /** undefined: the target version does not know the setting, so it is not rendered. */
    maxPreparedStatements: number | undefined;
    defaultPoolSize: number;
    minPoolSize: number;
    reservePoolSize: number;
  }>;
  redis: Readonly<Omit<Parsed["redis"], "maxMemory"> & { maxMemory: number }>;
  probe: Readonly<Parsed["probe"]>;
  monitoring: Readonly<Parsed["monitoring"]>;
  tls: Readonly<Parsed["tls"]>;
  /** Which cluster `pulumi up` deploys to and where the probe's image comes from (`pooling:cluster`). */
  cluster: Readonly<ClusterSetting>;
  /** The pool sizes the stack file left unset, so derived from postgres.cpu and pgbouncer.replicas (pools.ts). */
  derivedPoolSizes: readonly PoolSizeKey[];
}>;

/** max_prepared_statements PgBouncer gets when the stack does not say: on where the version has it. */
export const DEFAULT_MAX_PREPARED_STATEMENTS = 200;

/** The stack file breaks the schema or a cross-field rule (the connection budget, a version gate); every problem is listed by its key. */
export class ConfigError extends InputError {
  readonly code = "POOLING_INVALID_CONFIG";
  constructor(
    readonly stackName: string,
    readonly problems: readonly Problem[],
  ) {
    super(`Stack "${stackName}" has ${problems.length} config problem${problems.length === 1 ? "" : "s"}; nothing was rendered:\n${problems.map((p) => `  - ${formatProblem(p)}`).join("\n")}`);
  }
}

export function formatProblem(p: Problem): string {
  return `${p.key}${p.value === undefined ? "" : ` = ${show(p.value)}`}: ${p.message}`;
}

/** A key path as text; a segment that is not a plain name is quoted so it cannot forge a message line. */
function keyPath(path: readonly PropertyKey[]): string {
  return path.map((s) => (typeof s === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : show(String(s)))).join(".");
}

export interface ParseOptions {
  /** Stack name, for messages and file headers. */
  stack: string;
  /**
   * Versions that replace the stack's own, e.g. the binaries the local stack actually runs. Version gates
   * and version-dependent defaults then follow what really runs.
   */
  versions?: { postgres?: string; pgbouncer?: string };
  /**
   * What really runs, replacing the stack's own `postgres.cpu` and `pgbouncer.replicas`: the local stack
   * runs PostgreSQL on every core of its machine behind one PgBouncer, so the pool sizes it derives
   * follow that machine, not the cluster the stack file describes.
   */
  machine?: { postgresCores?: number; pgbouncerReplicas?: number };
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function zodProblems(raw: unknown, error: z.ZodError): Problem[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((k) => {
        const path = keyPath([...issue.path, k]);
        const removed = REMOVED_KEYS.get(path);
        if (removed !== undefined) return { key: key(path), value: valueAt(raw, [...issue.path, k]), message: removed };
        return {
          key: key(path),
          // Not the value: Pulumi hands over decrypted secrets, and a misspelt key may hold one.
          value: undefined,
          message: "unknown key: check its spelling against the config reference in docs/config.md.",
        };
      });
    }
    const path = keyPath(issue.path);
    return [{ key: path ? key(path) : "pooling", value: valueAt(raw, issue.path), message: issue.message }];
  });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The stack's values with what really runs (ParseOptions' versions and machine) put in their place. */
function withFacts(raw: unknown, opts: ParseOptions): unknown {
  const { versions, machine } = opts;
  if ((!versions && !machine) || !isPlainObject(raw)) return raw;
  const r = raw;
  // Only a missing or mapping section takes a fact; anything else is left for the schema to refuse.
  const section = (name: "postgres" | "pgbouncer", facts: Record<string, unknown>) => {
    const given = Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined));
    return Object.keys(given).length === 0 || (r[name] !== undefined && !isPlainObject(r[name])) ? r[name] : { ...(r[name] ?? {}), ...given };
  };
  return {
    ...r,
    postgres: section("postgres", { version: versions?.postgres, cpu: machine?.postgresCores === undefined ? undefined : String(machine.postgresCores) }),
    pgbouncer: section("pgbouncer", { version: versions?.pgbouncer, replicas: machine?.pgbouncerReplicas }),
  };
}

function resolve(stack: string, cfg: Parsed): StackConfig {
  const mem = derivedMemory(cfg);
  const pb = cfg.pgbouncer;
  const resolved: StackConfig = {
    stack,
    namespace: cfg.namespace,
    postgres: { ...cfg.postgres, sharedBuffers: mem.sharedBuffers, effectiveCacheSize: mem.effectiveCacheSize },
    pgbouncer: {
      ...pb,
      defaultPoolSize: defaultPoolSizeOf(cfg),
      minPoolSize: minPoolSizeOf(cfg),
      reservePoolSize: reservePoolSizeOf(cfg),
      maxPreparedStatements: pb.maxPreparedStatements ?? (compareVersions(pb.version, "1.21") >= 0 ? DEFAULT_MAX_PREPARED_STATEMENTS : undefined),
    },
    redis: { ...cfg.redis, maxMemory: mem.redisMaxMemory },
    probe: { ...cfg.probe },
    monitoring: { ...cfg.monitoring },
    tls: { ...cfg.tls },
    cluster: clusterSetting(cfg.cluster),
    derivedPoolSizes: derivedPoolSizeKeys(cfg),
  };
  return deepFreeze(resolved);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export type ParseResult = { ok: true; config: StackConfig } | { ok: false; problems: Problem[] };

/**
 * Each field of each section parsed on its own: the values that parsed, and their paths. A section that
 * is not a mapping contributes nothing; a missing one contributes its defaults.
 */
function parseFields(input: unknown): { values: Record<string, Record<string, unknown>>; parsed: Set<FieldPath> } {
  const values: Record<string, Record<string, unknown>> = {};
  const parsed = new Set<FieldPath>();
  if (!isPlainObject(input)) return { values, parsed };
  for (const [section, schema] of Object.entries(SECTIONS)) {
    const raw = input[section] ?? {};
    if (!isPlainObject(raw)) continue;
    values[section] = {};
    for (const [field, fieldSchema] of Object.entries(schema.shape)) {
      const result = (fieldSchema as z.ZodType).safeParse(raw[field]);
      if (!result.success) continue;
      values[section][field] = result.data;
      parsed.add(`${section}.${field}` as FieldPath);
    }
  }
  return { values, parsed };
}

/** The config a rule sees: only the fields it declares, so it cannot depend on one it did not name. */
function pick(values: Record<string, Record<string, unknown>>, needs: readonly FieldPath[]): ParsedStackConfig {
  const view: Record<string, Record<string, unknown>> = {};
  for (const path of needs) {
    const [section, field] = path.split(".") as [string, string];
    (view[section] ??= {})[field] = values[section]?.[field];
  }
  return view as unknown as ParsedStackConfig;
}

/** Every cross-field rule whose fields all parsed, and the image check of every version that parsed. */
function ruleProblems(input: unknown, overridden: ReadonlySet<string>): Problem[] {
  const { values, parsed } = parseFields(input);
  const runnable = CROSS_FIELD_RULES.filter((r) => r.needs.every((p) => parsed.has(p)));
  const versions = Object.fromEntries(
    (["postgres", "pgbouncer", "redis"] as const)
      // An overridden version is the binary the local stack runs, not an image anybody pulls.
      .filter((server) => parsed.has(`${server}.version`) && !overridden.has(server))
      .map((server) => [server, values[server]!.version as string]),
  );
  return [...runnable.flatMap((r) => r.check(pick(values, r.needs))), ...imageProblems(versions)];
}

/**
 * Validates raw stack config (the `pooling:` keys, namespace stripped) and returns every problem: those of
 * the schema, and those of every cross-field rule whose inputs parsed, even when other fields did not.
 */
export function checkStackConfig(raw: unknown, opts: ParseOptions): ParseResult {
  const input = withFacts(raw ?? {}, opts);
  const parsed = rawStackSchema.safeParse(input);
  const problems = [...(parsed.success ? [] : zodProblems(input, parsed.error)), ...ruleProblems(input, new Set(Object.keys(opts.versions ?? {})))];
  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  return { ok: true, config: resolve(opts.stack, parsed.data) };
}

/** Like checkStackConfig, but throws a ConfigError listing every problem. */
export function parseStackConfig(raw: unknown, opts: ParseOptions): StackConfig {
  const result = checkStackConfig(raw, opts);
  if (!result.ok) throw new ConfigError(opts.stack, result.problems);
  return result.config;
}
