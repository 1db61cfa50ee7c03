/** The report's sweep section: one row per value and client count, and its chart. */
import { kinds, ms, n, us } from "./format.ts";
import type { Plan } from "./plan.ts";
import type { SweepResult } from "./sweep.ts";

export function sweepSection(sweep: SweepResult, plan: Plan, chartFile: string | undefined): string[] {
  const mark = (v: number) =>
    [v === sweep.currentValue ? "**stack's value**" : "", v === sweep.seedValue ? "seed's" : ""].filter(Boolean).join(", ");
  const rows = [...sweep.points]
    .sort((a, b) => a.clients - b.clients || a.value - b.value)
    .map((p) => {
      const c = p.cpuPerTransactionUs;
      return `| ${p.value} | ${mark(p.value)} | ${n(p.clients)} | ${n(p.tps)} | ${ms(p.p50Ms)} | ${ms(p.p99Ms)} | ${kinds(p)} | ${p.peakBackends} | ${p.busyBackends.peak} / ${p.busyBackends.mean} | ${us(c?.postgres)} | ${us(c?.pgbouncer)} | ${us(c?.load)} |`;
    });
  return [
    `## Sweep: ${sweep.key}`,
    "",
    `The stack scenario (K = ${plan.instances} node-postgres pools through PgBouncer) at each value of \`${sweep.key}\`, each value on a fresh stack of its own with the project's other settings, at ${sweep.levels.map(n).join(" and ")} clients, ${sweep.durationMs / 1000} s a point. Marked: the value this stack runs without --sweep (${sweep.currentValue}: the stack file as parsed, derived defaults filled in)${sweep.seedValue === null ? "" : ` and the seed's (${sweep.seedValue})`}. CPU columns are µs per transaction.`,
    "",
    "| value | | clients | tps | p50 ms | p99 ms | errors | peak backends | busy backends peak / mean | PostgreSQL µs | PgBouncer µs | load generator µs |",
    "| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    ...(chartFile ? [`![throughput and p99 against ${sweep.key}](${chartFile})`, ""] : []),
  ];
}
