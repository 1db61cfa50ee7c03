/**
 * --sweep section.key=v1,v2,…: the stack scenario (node-postgres pools through PgBouncer) at each value
 * of one numeric stack key and at a couple of client counts, each value on a stack of its own. Answers
 * "which pool size" with throughput, p99, busy backends and CPU per transaction side by side.
 */
import type { NumericSweep } from "./sweep-spec.ts";
import type { Plan } from "./plan.ts";
import type { ScenarioPoint } from "./results.ts";
import { describePoint, measureLoad, settle } from "./run.ts";
import type { SweepStack, SweepStacks } from "./stacks.ts";
import type { Target } from "./summary.ts";

/** The seed's values, marked in the sweep's table: its PgBouncer pool was 25 server connections. */
export const SEED_VALUES: Readonly<Record<string, number>> = { "pgbouncer.defaultPoolSize": 25 };

export interface SweepPoint extends ScenarioPoint {
  /** The swept key's value this point ran with. */
  value: number;
}

export interface SweepResult {
  /** The swept key, `pooling:section.key`. */
  key: string;
  values: number[];
  levels: number[];
  durationMs: number;
  /** The stack's own value (the stack file as parsed, derived defaults filled in): what runs without --sweep. */
  currentValue: number;
  seedValue: number | null;
  points: SweepPoint[];
}

export function emptySweep(sweep: NumericSweep, plan: Plan): SweepResult {
  return {
    key: `pooling:${sweep.path}`,
    values: sweep.values,
    levels: plan.sweepLevels,
    durationMs: plan.sweepDurationMs,
    currentValue: sweep.current,
    seedValue: SEED_VALUES[sweep.path] ?? null,
    points: [],
  };
}

/**
 * Runs every value's points into `result.points` (so an interrupted run keeps what it measured). Level
 * by level, every value in turn, as the other scenarios do, so that slow drift on a shared machine hits
 * every value alike; each value's stack waits idle between its points.
 */
export async function runSweep(plan: Plan, stacks: SweepStacks, result: SweepResult, say: (m: string) => void, signal: AbortSignal): Promise<void> {
  const total = stacks.stacks.length * plan.sweepLevels.length;
  let previous: SweepStack | undefined;
  for (const clients of plan.sweepLevels) {
    for (const target of stacks.stacks) {
      signal.throwIfAborted();
      // The stack just measured may still be working off its load; the others have been idle.
      for (const s of new Set([previous, target])) if (s) await settle(s, `sweep ${s.value}`, say);
      previous = target;
      const p = await measureLoad(
        plan,
        { name: "stack", target, mode: "pg-pool", url: target.stack.pgbouncer.url, clients, instances: plan.instances, durationMs: plan.sweepDurationMs },
        target.stack.config.postgres.maxConnections,
        signal,
      );
      result.points.push({ value: target.value, ...p });
      say(`[sweep ${result.points.length}/${total}] ${result.key}=${target.value}: ${describePoint(p)}`);
    }
  }
}

/** The level the sweep's targets are read at: 1,000 clients, or the largest swept level below it. */
export function sweepReferenceLevel(result: SweepResult): number {
  const below = result.levels.filter((l) => l <= 1000);
  return below.length > 0 ? Math.max(...below) : Math.min(...result.levels);
}

/**
 * The target for the stack's pool size, read at the reference level: within 10% of the sweep's
 * best throughput, more throughput than the seed's value, and a p99 no worse than the seed's.
 */
export function sweepTarget(result: SweepResult): Target {
  const level = sweepReferenceLevel(result);
  const at = result.points.filter((p) => p.clients === level);
  const target = `At ${level.toLocaleString("en-US")} clients: the stack's ${result.key} (${result.currentValue}) within 10% of the sweep's best throughput, beats the seed's ${result.seedValue ?? "value"}, p99 no worse`;
  const current = at.find((p) => p.value === result.currentValue);
  const seed = at.find((p) => p.value === result.seedValue);
  const best = at.reduce<SweepPoint | undefined>((b, p) => (b === undefined || p.tps > b.tps ? p : b), undefined);
  if (!current || !best) return { target, measured: `the stack's value ${result.currentValue} was not among the swept values at ${level} clients`, met: null };
  const ofBest = best.tps > 0 ? current.tps / best.tps : 0;
  const parts = [`${current.tps} tps = ${(ofBest * 100).toFixed(1)}% of the best (${best.value}: ${best.tps} tps)`];
  if (seed) parts.push(`seed ${seed.value}: ${seed.tps} tps, p99 ${seed.p99Ms} ms vs ${current.p99Ms} ms`);
  else parts.push("the seed's value was not swept");
  if (result.currentValue === result.seedValue) parts.push("the stack's value is the seed's");
  const met = seed && current !== seed ? ofBest >= 0.9 && current.tps > seed.tps && current.p99Ms <= seed.p99Ms : null;
  return { target, measured: parts.join("; "), met };
}
