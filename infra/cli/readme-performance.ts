/**
 * The README's performance summary, generated from the bench's `results.json`. Only the fields read
 * here are required; any other field the bench writes is ignored, so the bench can grow (a sweep,
 * CPU figures) without breaking this, and this can grow to show them.
 */
import { z } from "zod";
import { count, latency } from "./generated.ts";

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
    versions: z.object({ postgres: z.string(), pgbouncer: z.string(), redis: z.string() }),
  }),
  plan: z.object({ quick: z.boolean(), levels: z.array(z.number()) }),
  scenarios: z.array(scenario),
  /** met is null where the run did not measure it (for example --quick has no 10,000-client level). */
  targets: z.array(z.object({ target: z.string(), measured: z.string(), met: z.boolean().nullable() })),
  interrupted: z.boolean(),
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

/** The Markdown between the README's performance markers: `text` is results.json's content. */
export function performanceSummary(text: string, link = "docs/performance/"): string {
  const r = performanceResults.parse(JSON.parse(text));
  const m = r.machine;
  const kind = r.interrupted ? "an interrupted run (partial results)" : r.plan.quick ? "a `--quick` run" : "a full run";
  return [
    `From ${kind} started ${m.startedAt} ([report](${link}report.md), [JSON](${link}results.json)): ${m.cpus} × ${m.cpuModel},`,
    `PostgreSQL ${m.versions.postgres}, PgBouncer ${m.versions.pgbouncer}, Redis ${m.versions.redis}, servers and load sharing the CPUs.`,
    "Requests per second (p99 latency, errors); pgbench's `-S` read in every case:",
    "",
    ...levelTable(r),
    "",
    ...targetLines(r, `${link}report.md`),
  ].join("\n");
}
