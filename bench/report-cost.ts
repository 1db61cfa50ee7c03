/** The report's "where each transaction's cost is paid": CPU per transaction by part, and what the figures say about it. */
import type { ProcessUse } from "./attribution.ts";
import { PARTS, PROTOCOL_COST_TARGET, type CostSummary, type Growth, type ProtocolCost } from "./cost.ts";
import { n, us } from "./format.ts";
import type { ScenarioPoint } from "./results.ts";
import type { Points } from "./summary.ts";

const PART_NAMES: Record<(typeof PARTS)[number], string> = {
  postgres: "PostgreSQL",
  pgbouncer: "PgBouncer",
  redis: "Redis",
  probe: "the probe",
  load: "load generator",
  bench: "the bench's own process",
  softirqThreads: "kernel softirq threads (ksoftirqd)",
  otherProcesses: "other processes",
  kernelUnattributed: "kernel time charged to no process (interrupts over an idle CPU, processes that exited)",
  idle: "the machine's idle time",
};

const signed = (v: number | null) => (v === null ? "–" : `${v >= 0 ? "+" : ""}${us(v)}`);

/** "node ×4 1.2 s, sshd 0.3 s": the largest other processes at a point, by command name. */
export function topProcessesLine(top: readonly ProcessUse[] | undefined): string {
  if (!top) return "not counted in this run";
  if (top.length === 0) return "none used CPU";
  return top.map((u) => `\`${u.comm}\`${u.processes > 1 ? ` ×${u.processes}` : ""} ${u.cpuSeconds} s`).join(", ");
}

/** One row per PostgreSQL point: busy backends, CPU µs per transaction by part, and what PostgreSQL counted per request. */
export function cpuPerTransactionTable(points: readonly ScenarioPoint[]): string[] {
  const per = (v: number | undefined, p: ScenarioPoint) => (v === undefined || p.transactions <= 0 ? "–" : (v / p.transactions).toFixed(2));
  const rows = points
    .filter((p) => p.cpuPerTransactionUs)
    .map((p) => {
      const c = p.cpuPerTransactionUs!;
      return `| ${p.name} | ${n(p.clients)} | ${n(p.tps)} | ${p.busyBackends.peak} / ${p.busyBackends.mean} | ${p.peakBackends} | ${us(c.postgres)} | ${us(c.pgbouncer)} | ${us(c.load)} | ${per(p.database?.xacts, p)} | ${per(p.database?.tupReturned, p)} |`;
    });
  return [
    "| scenario | clients | tps | busy backends peak / mean | peak backends | PostgreSQL µs | PgBouncer µs | load generator µs | PostgreSQL transactions per request | rows returned per request |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ];
}

function protocolLines(c: ProtocolCost | undefined): string[] {
  if (!c) return ["- The stack against pgbench through PgBouncer: not measured in this run."];
  return [
    `- The stack at ${n(c.stackClients)} clients (${c.stackBusyBackends} busy backends on average) costs PostgreSQL ${us(c.stackPostgresUs)} µs per transaction; pgbench through the same PgBouncer at ${n(c.pgbenchClients)} clients, the pgbench point nearest in busy backends (${c.pgbenchBusyBackends}), costs it ${us(c.pgbenchPostgresUs)} µs: **${c.ratio}×** (target ≤ ${PROTOCOL_COST_TARGET}×${c.met ? ", met" : ", missed"}). Against every pgbench-pgbouncer point it is ${c.ratioRange[0]}–${c.ratioRange[1]}×: a backend is *busy* (\`state = 'active'\`) only while it executes, so for one indexed read the mean is a fraction of one backend and the match is loose.`,
    ...c.explanation.map((e) => `  ${e}`),
  ];
}

function growthLines(g: Growth | undefined, topPoint: ScenarioPoint | undefined): string[] {
  if (!g) return ["- The stack's top level against its peak: not measured in this run (its top level is its peak, or it has one level)."];
  const rows = PARTS.map((part) => `| ${PART_NAMES[part]} | ${us(g.peak[part] ?? undefined)} | ${us(g.top[part] ?? undefined)} | ${signed(g.delta[part])} |`);
  const total = (r: Record<string, number | null>) => PARTS.reduce((a, part) => a + (r[part] ?? 0), 0);
  return [
    `- The stack at ${n(g.topClients)} clients (${n(g.topTps)} tps) against its peak at ${n(g.peakClients)} clients (${n(g.peakTps)} tps): every core-µs of the machine per transaction, split by where it went. The total is cores ÷ tps, so the throughput lost is the sum of the growths; **${PART_NAMES[g.grewMost]}** grew the most (${signed(g.delta[g.grewMost])} µs of ${us(total(g.top) - total(g.peak))} µs).`,
    "",
    `| part | µs per transaction at ${n(g.peakClients)} | at ${n(g.topClients)} | growth |`,
    "| --- | ---: | ---: | ---: |",
    ...rows,
    "",
    `Other processes at ${n(g.topClients)} clients, the largest (CPU seconds over the point): ${topProcessesLine(topPoint?.topOtherProcesses)}. /proc/stat's irq + softirq time over the point: ${topPoint?.cpuSeconds.machineSoftirq ?? "–"} s; with tick accounting it is already inside the parts above (charged to the task each interrupt landed on, or to no process over an idle CPU), so it is shown, not added.`,
  ];
}

export function costSection(points: Points, cost: CostSummary): string[] {
  if (!points.all.some((p) => p.cpuPerTransactionUs)) return [];
  return [
    "## Where each transaction's cost is paid (CPU µs per transaction)",
    "",
    "CPU seconds of each part over the point ÷ the transactions it completed. PostgreSQL is the postmaster and its backends; the load generator is the load processes, or pgbench itself for the pgbench points. PostgreSQL's transactions and rows per request are pg_stat_database deltas (xact_commit + xact_rollback, tup_returned) ÷ requests; pg_stat_statements is not loaded, so statements are not counted one by one.",
    "",
    ...cpuPerTransactionTable(points.all),
    "",
    ...protocolLines(cost.protocol),
    ...growthLines(cost.growth, cost.growth ? points.at("stack", cost.growth.topClients) : undefined),
    "",
  ];
}
