/**
 * The README's performance summary, generated from the bench's `results.json`. Only the fields read
 * here are required; any other field the bench writes is ignored, so the bench can grow (a sweep,
 * CPU figures) without breaking this, and this can grow to show them.
 */
import { z } from "zod";
import { derivedDefaultPoolSize } from "../config/pools.ts";
import { count, latency } from "./generated.ts";

const cpuPerTransaction = z.object({ postgres: z.number(), pgbouncer: z.number(), load: z.number() });

const scenario = z.object({
  name: z.string(),
  clients: z.number(),
  tps: z.number(),
  p99Ms: z.number(),
  errors: z.number(),
  peakBackends: z.number(),
});

export const performanceResults = z.object({
  machine: z.object({
    cpuModel: z.string(),
    cpus: z.number(),
    startedAt: z.string(),
    /** Absent in results from before it was read into the README. */
    loadAverageAtStart: z.array(z.number()).optional(),
    versions: z.object({ postgres: z.string(), pgbouncer: z.string(), redis: z.string() }),
  }),
  plan: z.object({ quick: z.boolean(), levels: z.array(z.number()) }),
  /** pooling:tls of the scenarios' stacks; absent in results from before TLS. */
  tls: z.object({ enabled: z.boolean(), minVersion: z.string() }).optional(),
  scenarios: z.array(scenario),
  /** met is null where the run did not measure it (for example --quick has no 10,000-client level). */
  targets: z.array(z.object({ target: z.string(), measured: z.string(), met: z.boolean().nullable() })),
  interrupted: z.boolean(),
  /** From `--sweep`: the stack scenario at each value of one key. */
  sweep: z
    .object({
      key: z.string(),
      currentValue: z.number(),
      seedValue: z.number().nullable(),
      points: z.array(scenario.extend({ value: z.number(), cpuPerTransactionUs: cpuPerTransaction.optional() })),
    })
    .optional(),
  /** Where each transaction's cost is paid (bench/cost.ts). */
  cost: z
    .object({
      protocol: z.object({ ratio: z.number(), stackClients: z.number(), stackPostgresUs: z.number(), pgbenchPostgresUs: z.number(), pgbenchClients: z.number() }).optional(),
      growth: z.object({ peakClients: z.number(), topClients: z.number(), peakTps: z.number(), topTps: z.number(), delta: z.record(z.string(), z.number().nullable()), grewMost: z.string() }).optional(),
    })
    .optional(),
});
export type PerformanceResults = z.infer<typeof performanceResults>;
type Scenario = z.infer<typeof scenario>;

const errors = (n: number) => (n === 0 ? "" : `, ${count(n)} errors`);
const cell = (s: Scenario | undefined) => (s ? `${count(s.tps)} (p99 ${latency(s.p99Ms)}${errors(s.errors)})` : "–");

/** Throughput per client level for the three ways of reaching PostgreSQL the bench compares. */
function levelTable(r: PerformanceResults): string[] {
  const at = (name: string, clients: number) => r.scenarios.find((s) => s.name === name && s.clients === clients);
  return [
    "| clients | before: a new connection per request | stack: app pools through PgBouncer | app-pool-direct: app pools straight to PostgreSQL |",
    "| ---: | --- | --- | --- |",
    ...r.plan.levels.map((c) => {
      const stack = at("stack", c);
      const stackCell = stack ? `${cell(stack)} on ${stack.peakBackends} backends` : "–";
      return `| ${count(c)} | ${cell(at("before", c))} | ${stackCell} | ${cell(at("app-pool-direct", c))} |`;
    }),
  ];
}

/** bench/cost.ts's parts; `other` is the undivided rest of the machine in results from before the split. */
const PART_NAMES: Record<string, string> = {
  postgres: "PostgreSQL",
  pgbouncer: "PgBouncer",
  redis: "Redis",
  probe: "the probe",
  load: "the load generator",
  bench: "the bench's own process",
  softirqThreads: "the kernel's softirq threads",
  otherProcesses: "other processes",
  kernelUnattributed: "kernel time charged to no process",
  other: "the rest of the machine",
  idle: "idle CPU",
};

/** The sweep at its largest level up to 1,000 clients: throughput, p99 and PostgreSQL's CPU per value. */
function sweepLines(r: PerformanceResults, report: string): string[] {
  const sw = r.sweep;
  if (!sw || sw.points.length === 0) return [];
  const levels = [...new Set(sw.points.map((p) => p.clients))];
  const level = Math.max(...levels.filter((l) => l <= 1000), Math.min(...levels));
  const rows = sw.points.filter((p) => p.clients === level).sort((a, b) => a.value - b.value);
  // The stack's value is the machine's: say for which inputs, so no reader takes it for everyone's default.
  const derivedHere = sw.key === "pooling:pgbouncer.defaultPoolSize" && sw.currentValue === derivedDefaultPoolSize(String(r.machine.cpus), 1);
  const current = derivedHere ? `**derived default** for the run's ${r.machine.cpus} cores, one PgBouncer` : "**stack's value**";
  const mark = (v: number) => [v === sw.currentValue ? current : "", v === sw.seedValue ? "seed's" : ""].filter(Boolean).join(", ");
  return [
    "",
    `Pool size: \`${sw.key}\` swept at ${count(level)} clients ([sweep](${report}#sweep-${sw.key.replace(/[^a-z0-9]+/gi, "").toLowerCase()})):`,
    "",
    "| value | | tps | p99 | PostgreSQL CPU per transaction |",
    "| ---: | --- | ---: | ---: | ---: |",
    ...rows.map((p) => `| ${p.value} | ${mark(p.value)} | ${count(p.tps)} | ${latency(p.p99Ms)} | ${p.cpuPerTransactionUs ? `${p.cpuPerTransactionUs.postgres} µs` : "–"} |`),
  ];
}

/** The protocol ratio and what grew at the top level, in a sentence each. */
function costLines(r: PerformanceResults): string[] {
  const c = r.cost;
  const lines: string[] = [];
  if (c?.protocol) {
    const p = c.protocol;
    lines.push(
      `PostgreSQL CPU per transaction, stack at ${count(p.stackClients)} clients against pgbench through the same PgBouncer (${count(p.pgbenchClients)} clients): ${p.stackPostgresUs} µs vs ${p.pgbenchPostgresUs} µs, ${p.ratio}×.`,
    );
  }
  if (c?.growth) {
    const g = c.growth;
    const grew = g.delta[g.grewMost] ?? 0;
    lines.push(
      `From ${count(g.peakClients)} clients (${count(g.peakTps)} tps, the stack's peak) to ${count(g.topClients)} (${count(g.topTps)} tps), machine time per transaction grew most in ${PART_NAMES[g.grewMost] ?? g.grewMost} (+${grew} µs).`,
    );
  }
  return lines.length > 0 ? ["", ...lines] : [];
}

/** How many targets were met, and the ones that were not, with what was measured. */
function targetLines(r: PerformanceResults, report: string): string[] {
  const met = r.targets.filter((t) => t.met === true).length;
  const notMeasured = r.targets.filter((t) => t.met === null).length;
  const missed = r.targets.filter((t) => t.met === false);
  return [
    `Targets: ${met} of ${r.targets.length} met${notMeasured > 0 ? `, ${notMeasured} not measured` : ""} ([each with its figures](${report}))${missed.length > 0 ? "; missed:" : "."}`,
    ...(missed.length > 0 ? ["", ...missed.map((t) => `- ${t.target}: ${t.measured}`)] : []),
  ];
}

/** How the scenarios' connections ran: with TLS, every new connection below pays a handshake. */
function tlsSentence(tls: NonNullable<PerformanceResults["tls"]>): string {
  return tls.enabled
    ? `TLS on every connection (${tls.minVersion} or newer, clients verify-full): each new connection in the before column pays a TLS handshake, a pool pays it once per pooled connection.`
    : "TLS off (`pooling:tls.enabled: false`): every connection in plaintext.";
}

/** The Markdown between the README's performance markers: `text` is results.json's content. */
export function performanceSummary(text: string, link = "docs/performance/"): string {
  const r = performanceResults.parse(JSON.parse(text));
  const m = r.machine;
  const kind = r.interrupted ? "an interrupted run (partial results)" : r.plan.quick ? "a `--quick` run" : "a full run";
  return [
    `From ${kind} started ${m.startedAt} ([report](${link}report.md), [JSON](${link}results.json)): ${m.cpus} × ${m.cpuModel},`,
    `PostgreSQL ${m.versions.postgres}, PgBouncer ${m.versions.pgbouncer}, Redis ${m.versions.redis}, servers and load sharing the CPUs${m.loadAverageAtStart ? ` (load average ${m.loadAverageAtStart[0]} at the start${m.loadAverageAtStart[0]! > m.cpus ? ": other work shares the machine" : ""})` : ""}.`,
    ...(r.tls ? [tlsSentence(r.tls)] : []),
    "Requests per second (p99 latency, errors); pgbench's `-S` read in every case:",
    "",
    ...levelTable(r),
    ...sweepLines(r, `${link}report.md`),
    ...costLines(r),
    "",
    ...targetLines(r, `${link}report.md`),
  ].join("\n");
}
