/**
 * PgBouncer pool sizes derived from the PostgreSQL they pool for, when the stack file does not set them.
 *
 * Past a few server connections per core PostgreSQL spends its CPU on contention, not on queries. The
 * pool-size sweep (`npm run bench -- --sweep pgbouncer.defaultPoolSize=2,4,8,16,25,50`, its table in
 * docs/performance/report.md) shows it on two cores: 4–8 server connections (2–4 per core) gave the
 * most throughput at 1,000 clients, and PostgreSQL's CPU per transaction rises with the pool beyond
 * that. Single runs on a shared machine differ by ±15%, so the rule takes the top of that range, which
 * also leaves room for the network round trips a cluster adds. So the pool
 * follows `postgres.cpu`, split across the PgBouncer replicas that each open their own pool, and
 * min/reserve pools keep the seed's proportions (10 and 5 of 25). An explicit value always wins.
 */
import type { ParsedStackConfig } from "./schema.ts";

/** Server connections PostgreSQL gets per CPU core, summed over every PgBouncer replica. */
export const SERVER_CONNECTIONS_PER_CPU = 4;

/** The smallest derived pool per replica: one slow query must not hold every client of a replica. */
export const MIN_DERIVED_POOL_SIZE = 2;

/** min_pool_size as a share of the pool (the seed's 10 of 25), rounded to the nearest connection. */
export const MIN_POOL_SHARE = 0.4;

/** reserve_pool_size as a share of the pool (the seed's 5 of 25), rounded to the nearest, at least 1. */
export const RESERVE_POOL_SHARE = 0.2;

export const POOL_SIZE_KEYS = ["defaultPoolSize", "minPoolSize", "reservePoolSize"] as const;
export type PoolSizeKey = (typeof POOL_SIZE_KEYS)[number];

/** The rule in words, for the schema's documentation and the config reference. */
export const DERIVED_POOL_RULE = `max(${MIN_DERIVED_POOL_SIZE}, ⌈${SERVER_CONNECTIONS_PER_CPU} × postgres.cpu ÷ pgbouncer.replicas⌉)`;
export const DERIVED_MIN_RULE = `${MIN_POOL_SHARE * 100}% of defaultPoolSize, rounded`;
export const DERIVED_RESERVE_RULE = `${RESERVE_POOL_SHARE * 100}% of defaultPoolSize, rounded, at least 1`;

/** Millicores of a Kubernetes CPU quantity as the schema accepts it ("1", "2.5", "500m"). */
export function milliCores(quantity: string): number {
  return quantity.endsWith("m") ? Number(quantity.slice(0, -1)) : Math.round(Number(quantity) * 1000);
}

/** Cores as a plain number ("500m" → 0.5), for messages. */
export const cores = (quantity: string) => milliCores(quantity) / 1000;

/** In millicores so that an exact quotient is not rounded up by a floating-point remainder. */
export function derivedDefaultPoolSize(cpu: string, replicas: number): number {
  return Math.max(MIN_DERIVED_POOL_SIZE, Math.ceil((SERVER_CONNECTIONS_PER_CPU * milliCores(cpu)) / (1000 * replicas)));
}

export const derivedMinPoolSize = (pool: number) => Math.round(pool * MIN_POOL_SHARE);
export const derivedReservePoolSize = (pool: number) => Math.max(1, Math.round(pool * RESERVE_POOL_SHARE));

/** What the pool sizes are read from: each function reads only the fields it needs (rules declare them). */
export type PoolInputs = {
  postgres: Pick<ParsedStackConfig["postgres"], "cpu">;
  pgbouncer: Partial<Pick<ParsedStackConfig["pgbouncer"], PoolSizeKey>> & Pick<ParsedStackConfig["pgbouncer"], "replicas">;
};

/** Fields a rule must declare to call defaultPoolSizeOf. */
export const DEFAULT_POOL_FIELDS = ["postgres.cpu", "pgbouncer.replicas", "pgbouncer.defaultPoolSize"] as const;

export function defaultPoolSizeOf(cfg: PoolInputs): number {
  return cfg.pgbouncer.defaultPoolSize ?? derivedDefaultPoolSize(cfg.postgres.cpu, cfg.pgbouncer.replicas);
}

export function minPoolSizeOf(cfg: PoolInputs): number {
  return cfg.pgbouncer.minPoolSize ?? derivedMinPoolSize(defaultPoolSizeOf(cfg));
}

export function reservePoolSizeOf(cfg: PoolInputs): number {
  return cfg.pgbouncer.reservePoolSize ?? derivedReservePoolSize(defaultPoolSizeOf(cfg));
}

/** Which pool sizes the stack file left to the derivation. */
export function derivedPoolSizeKeys(cfg: Pick<PoolInputs, "pgbouncer">): PoolSizeKey[] {
  return POOL_SIZE_KEYS.filter((k) => cfg.pgbouncer[k] === undefined);
}

/** How the pool was derived, with this stack's numbers: `max(2, ⌈4 × postgres.cpu 1 ÷ pgbouncer.replicas 2⌉)`. */
export function derivationOf(cfg: PoolInputs): string {
  return `max(${MIN_DERIVED_POOL_SIZE}, ⌈${SERVER_CONNECTIONS_PER_CPU} × postgres.cpu ${cores(cfg.postgres.cpu)} ÷ pgbouncer.replicas ${cfg.pgbouncer.replicas}⌉)`;
}

/**
 * One line saying which pool sizes were derived, their values and the rule, or undefined when the stack
 * file set all three. For the rendered pgbouncer.ini and the render CLI's summary; reads a resolved
 * config, whose sizes are all filled in and whose `derivedPoolSizes` says which were derived.
 */
export function poolDerivationNote(cfg: {
  postgres: Pick<ParsedStackConfig["postgres"], "cpu">;
  pgbouncer: Pick<ParsedStackConfig["pgbouncer"], "replicas"> & Record<PoolSizeKey, number>;
  derivedPoolSizes: readonly PoolSizeKey[];
}): string | undefined {
  if (cfg.derivedPoolSizes.length === 0) return undefined;
  const pb = cfg.pgbouncer;
  const parts: Record<PoolSizeKey, string> = {
    defaultPoolSize: `defaultPoolSize ${pb.defaultPoolSize} = ${derivationOf(cfg)}`,
    minPoolSize: `minPoolSize ${pb.minPoolSize} = ${DERIVED_MIN_RULE}`,
    reservePoolSize: `reservePoolSize ${pb.reservePoolSize} = ${DERIVED_RESERVE_RULE}`,
  };
  return `pool sizes derived (unset in the stack file): ${cfg.derivedPoolSizes.map((k) => parts[k]).join("; ")}`;
}
