/**
 * The Markdown report: the seed's Before/After table with measured figures, targets, ratios, every
 * point, where each transaction's CPU is paid, and the sweep.
 */
import type { CostSummary } from "./cost.ts";
import { kinds, mb, ms, n, pct } from "./format.ts";
import type { Machine } from "./machine.ts";
import type { Plan } from "./plan.ts";
import { costSection } from "./report-cost.ts";
import { sweepSection } from "./report-sweep.ts";
import { tlsSection } from "./report-tls.ts";
import type { TlsComparison } from "./tls.ts";
import { SCENARIOS, type ScenarioPoint } from "./results.ts";
import { SAMPLE_EVERY_MS } from "./sampler.ts";
import type { Points, Ratios, Target } from "./summary.ts";
import type { SweepResult } from "./sweep.ts";

export interface ReportInput {
  machine: Machine;
  plan: Plan;
  points: Points;
  ratios: Ratios;
  targets: Target[];
  maxConnections: { main: number; raised: number };
  upstream: string;
  wallSeconds: number;
  cost: CostSummary;
  sweep: SweepResult | undefined;
  /** --tls-compare's points, when it ran. */
  tlsComparison?: TlsComparison | undefined;
  /** pooling:tls of the stacks the scenarios ran on. */
  tls: { enabled: boolean; minVersion: string };
  /** Chart files beside the report; undefined where that part did not run. */
  charts: { main: string | undefined; sweep: string | undefined };
  interrupted: boolean;
}

const listOrDash = (xs: string[]) => (xs.length === 0 ? "–" : xs.join(", "));
const verdict = (t: Target) => (t.met === null ? "not measured" : t.met ? "**met**" : "**missed**");

function seedTable(i: ReportInput): string[] {
  const { points, ratios, plan } = i;
  const low = Math.min(...plan.levels);
  const top = Math.max(...plan.levels);
  const b = points.at("before", low);
  const serial = points.at("before-serial", 1);
  const s = points.at("stack", low);
  const bTop = points.at("before", top);
  const sTop = points.at("stack", top);
  const stackReuse = points.of("stack").map((p) => p.reuseRatio);
  const stackBackends = Math.max(0, ...points.of("stack").map((p) => p.peakBackends));
  return [
    "| Metric | Seed: before | Seed: after | Measured: before | Measured: after (stack) |",
    "| --- | --- | --- | --- | --- |",
    `| Max concurrent clients served with zero errors | 10 | 200 | ${ratios.maxZeroErrorClients.before ?? "–"} (max_connections ${i.maxConnections.main}) | ${ratios.maxZeroErrorClients.stack ?? "–"} (on ≤ ${stackBackends} PostgreSQL backends) |`,
    `| Connection establishment, p50 (p99) | 150 ms | 5 ms (pooled) | new SCRAM connection: ${ms(serial?.acquireP50Ms)} ms (${ms(serial?.acquireP99Ms)} ms) alone, ${ms(b?.acquireP50Ms)} ms (${ms(b?.acquireP99Ms)} ms) at ${low} clients | pool acquire at ${low} clients: ${ms(s?.acquireP50Ms)} ms (${ms(s?.acquireP99Ms)} ms) |`,
    `| Connection reuse | 0% | 95%+ | ${pct(b?.reuseRatio)} | ${stackReuse.length ? `${pct(Math.min(...stackReuse), 3)} (lowest level)` : "–"} |`,
    `| Under load (${n(top)} clients) | Connection exhaustion | Stable performance | ${bTop ? `${n(bTop.tps)} tps, ${kinds(bTop)} errors` : "–"} | ${sTop ? `${n(sTop.tps)} tps, p99 ${ms(sTop.p99Ms)} ms, ${kinds(sTop)} errors` : "–"} |`,
  ];
}

function pointsTable(points: readonly ScenarioPoint[]): string[] {
  const rows = points.map(
    (p) =>
      `| ${p.name} | ${n(p.clients)} | ${n(p.tps)} | ${ms(p.p50Ms)} | ${ms(p.p99Ms)} | ${kinds(p)} | ${p.peakBackends} (${p.baselineBackends}) | ${n(p.connectionsOpened)} | ${n(p.transactions)} | ${pct(p.reuseRatio, 3)} | ${ms(p.acquireP50Ms)} / ${ms(p.acquireP99Ms)} | ${mb(p.memoryKb.pgbouncer)} | ${mb(p.memoryKb.loadProcessesTotal)} |`,
  );
  return [
    "| scenario | clients | tps | p50 ms | p99 ms | errors | peak backends (at start) | connections opened | transactions | reuse | acquire p50 / p99 ms | PgBouncer RSS MB | load RSS MB (all) |",
    "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ];
}

/**
 * CPU by part, in cores busy on average (seconds of CPU ÷ seconds of wall time). The rest of the
 * machine is split by process (attribution.ts); "–" where a point was measured before that split.
 */
function cpuTable(points: readonly ScenarioPoint[]): string[] {
  const rows = points.map((p) => {
    const c = p.cpuSeconds;
    const wall = Math.max(p.elapsedMs / 1000, 0.001);
    const cores = (v: number | undefined) => (v === undefined ? "–" : (v / wall).toFixed(2));
    const split = (v: number | undefined) => cores(c.otherProcesses === undefined ? undefined : (v ?? 0));
    return `| ${p.name} | ${n(p.clients)} | ${cores(c.postgres)} | ${cores(c.pgbouncer)} | ${cores(c.load)} | ${cores((c.redis ?? 0) + (c.probe ?? 0))} | ${split(c.bench)} | ${split(c.softirqThreads)} | ${split(c.otherProcesses)} | ${split(c.kernelUnattributed)} | ${cores(c.machineBusy)} | ${cores(c.machineSoftirq)} |`;
  });
  return [
    "| scenario | clients | postgres | pgbouncer | load (processes or pgbench) | redis + probe | bench process | ksoftirqd | other processes | kernel, no process | machine busy | of which irq + softirq |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ];
}

export function renderReport(i: ReportInput): string {
  const { machine: m, plan, points } = i;
  const scenarios = points.all.length > 0;
  return [
    `# Connection pooling benchmark${plan.quick ? " (--quick)" : ""}`,
    "",
    `Run ${m.startedAt}, ${Math.round(i.wallSeconds)} s${i.interrupted ? ", **interrupted: partial results**" : ""}. ${m.note}`,
    "",
    "## Machine",
    "",
    `- ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}; load average at start ${m.loadAverageAtStart.join(" / ")}`,
    `- PostgreSQL ${m.versions.postgres}, PgBouncer ${m.versions.pgbouncer}, Redis ${m.versions.redis}`,
    `- ${i.tls.enabled ? `TLS on every connection (\`pooling:tls\`, ${i.tls.minVersion} or newer, clients verify-full): a new connection's set-up includes the TLS handshake` : "TLS off (`pooling:tls.enabled: false`): every connection in plaintext"}`,
    `- CPUs allowed (Cpus_allowed_list): ${Object.entries(m.cpusAllowed).map(([k, v]) => `${k} ${v}`).join(", ")}; load processes ${listOrDash([...new Set(points.all.flatMap((p) => p.loadCpusAllowed))])}`,
    "",
    ...(scenarios ? scenariosIntro(i) : []),
    "## Targets (reported, not asserted)",
    "",
    "| Target | Measured | Result |",
    "| --- | --- | --- |",
    ...i.targets.map((t) => `| ${t.target} | ${t.measured} | ${verdict(t)} |`),
    "",
    ...(scenarios ? scenarioSections(i) : []),
    ...costSection(points, i.cost),
    ...(i.tlsComparison ? tlsSection(i.tlsComparison, plan) : []),
    ...(i.sweep ? sweepSection(i.sweep, plan, i.charts.sweep) : []),
  ].join("\n");
}

function scenariosIntro(i: ReportInput): string[] {
  const { plan } = i;
  return [
    "## Scenarios",
    "",
    `Every PostgreSQL scenario runs the same statement, pgbench -S's read: \`SELECT abalance FROM pgbench_accounts WHERE aid = $1\` (random aid of 100,000, scale 1), one autocommit statement, extended protocol with unnamed statements (as the probe sends it; pgbench runs with \`-M extended\` to match). A *client* is one concurrent request loop; a failed request waits ~${plan.errorBackoffMs} ms (jittered) before the loop goes on. K = ${plan.instances} simulated app instances, each with its own node-postgres Pool (max ${plan.poolMax}, acquire timeout ${plan.connectionTimeoutMs} ms, as the probe), spread over ${plan.loadProcesses} load processes. Points last ${plan.durationMs / 1000} s plus the time in-flight requests take to finish; tps counts every completed request over that time.`,
    "",
    ...Object.entries(SCENARIOS).map(([k, v]) => `- **${k}**: ${v}`),
    "",
    `max_connections: ${i.maxConnections.main} (project default), ${i.maxConnections.raised} for app-pool-direct. The connection storms (before, app-pool-direct-default-max) hit a PostgreSQL of their own with the project defaults, so they cannot slow down the points that follow them. HTTP server: ${i.upstream}. HTTP and Redis: ${plan.sideClients} clients over ${plan.sideInstances} instances (the probe's replica count), ${plan.sideDurationMs / 1000} s. Connections opened are server sessions (pg_stat_database.sessions) for PostgreSQL and what the clients opened for HTTP and Redis. Peak backends are sampled from pg_stat_activity every ${SAMPLE_EVERY_MS} ms, and so are *busy* backends, those running a statement (\`state = 'active'\`).`,
    "",
    "## Before / After (the seed's table, measured)",
    "",
    ...seedTable(i),
    "",
  ];
}

function scenarioSections(i: ReportInput): string[] {
  const { points, ratios } = i;
  const samples = points.all.flatMap((p) => Object.entries(p.errorSamples).map(([k, msg]) => `- ${p.name} @ ${p.clients}: \`${k}\` — ${msg.replace(/`/g, "'")}`));
  const uniqueSamples = [...new Map(samples.map((s) => [s.replace(/^- [^:]+: /, ""), s])).values()];
  return [
    "## Ratios",
    "",
    `- At ${n(ratios.referenceClients)} clients: stack vs before ${ratios.stackVsBeforeTps ?? "–"}×, stack vs app-pool-direct ${ratios.stackVsAppPoolDirectTps ?? "–"}×, stack vs pgbench ceiling through PgBouncer ${pct(ratios.stackVsPgbenchPgbouncerTps, 1)}, vs pgbench direct ${pct(ratios.stackVsPgbenchDirectTps, 1)}`,
    `- By level (stack ÷ before, stack ÷ app-pool-direct): ${ratios.byLevel.map((l) => `${n(l.clients)}: ${l.stackVsBeforeTps ?? "–"}× / ${l.stackVsAppPoolDirectTps ?? "–"}×`).join("; ")}`,
    `- Largest zero-error client count: ${Object.entries(ratios.maxZeroErrorClients).map(([k, v]) => `${k} ${n(v)}`).join(", ")}`,
    `- HTTP keep-alive ÷ new connection: ${ratios.httpKeepAliveVsNewConnection ?? "–"}× (socket reuse ${pct(ratios.httpSocketReuse)}); Redis shared ÷ new connection: ${ratios.redisSharedVsNewConnection ?? "–"}×`,
    "",
    `![throughput and p99 against concurrent clients](${i.charts.main ?? "chart.svg"})`,
    "",
    "## Every point",
    "",
    ...pointsTable(points.all),
    "",
    "## Where the time goes (CPU cores busy, averaged over each point)",
    "",
    "Each process's CPU from /proc/<pid>/stat between the point's start and end. *bench process* is the bench's own Node process; *ksoftirqd* the kernel threads that run deferred softirq work; *other processes* everything else that is not a named part; *kernel, no process* the machine's busy time (/proc/stat) that no process was charged with, chiefly interrupt work over an idle CPU, which tick accounting charges to the idle task. *Of which irq + softirq* is /proc/stat's interrupt time: it overlaps the columns before it (an interrupt's tick is charged to the task it interrupted), so it is not part of the sum.",
    "",
    ...cpuTable(points.all),
    "",
    ...(uniqueSamples.length ? ["## Error samples (first message of each kind)", "", ...uniqueSamples, ""] : []),
  ];
}
