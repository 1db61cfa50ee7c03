/** The report's TLS section (--tls-compare): each scenario with TLS against without, then every point. */
import { kinds, ms, n, us } from "./format.ts";
import type { Plan } from "./plan.ts";
import { TLS_COST_BOUND, tlsSummary, type TlsComparison, type TlsScenarioSummary } from "./tls.ts";

const times = (r: number | null) => (r === null ? "–" : `${r.toFixed(3)}×`);

const WHAT = {
  "before-serial": "a new connection per request, 1 client",
  stack: "the stack: K pools through PgBouncer",
} as const;

function summaryRows(s: TlsScenarioSummary): string[] {
  const row = (label: string, side: TlsScenarioSummary["on"]) =>
    `| ${WHAT[s.scenario]} | ${n(s.clients)} | ${label} | ${n(side.tps)} | ${ms(side.p99Ms)} | ${ms(side.connectMs)} | ${us(side.cpuUs.postgres)} | ${us(side.cpuUs.pgbouncer)} | ${us(side.cpuUs.load)} | ${us(side.pathUs)} |`;
  return [
    row("TLS", s.on),
    row("plaintext", s.off),
    `| | | **TLS / plaintext** | ${times(s.ratio.tps)} | | ${s.on.connectMs !== null && s.off.connectMs !== null ? `+${ms(Math.max(0, s.on.connectMs - s.off.connectMs))}` : "–"} | ${times(s.ratio.postgres)} | ${times(s.ratio.pgbouncer)} | | ${times(s.ratio.path)} |`,
  ];
}

export function tlsSection(cmp: TlsComparison, plan: Plan): string[] {
  const summary = tlsSummary(cmp);
  const points = [...cmp.points].sort((a, b) => a.name.localeCompare(b.name) || a.round - b.round || Number(b.tls) - Number(a.tls));
  return [
    "## TLS: what it costs",
    "",
    `Two stacks alike but for \`pooling:tls.enabled\` (on: every hop TLS ${cmp.minVersion} or newer and verified, clients \`sslmode=verify-full\`, PgBouncer to PostgreSQL \`server_tls_sslmode = verify-full\`; off: plaintext), each point run on one then the other, ${cmp.rounds} round${cmp.rounds === 1 ? "" : "s"}. A new connection per request (${plan.serialDurationMs / 1000} s, 1 client) prices connection set-up, the TLS handshake included; the stack scenario (${plan.durationMs / 1000} s, ${n(cmp.level)} clients) prices the pooled path, where the pools keep the TLS sessions they opened. CPU columns are µs per transaction over every round's transactions (PostgreSQL: postmaster and backends; load generator: the clients, who do their side of TLS); tps and p99 are medians over the rounds; connect is the median of the rounds' p50 time to a new connection (TCP, the TLS handshake when on, startup and SCRAM); acquire, per point, is that time or, in the stack scenario, the time to get a connection from the pool. The issue's bound: the pooled path within ${TLS_COST_BOUND * 100}% of its plaintext cost per transaction (reported, not asserted: the Targets table).`,
    "",
    "| scenario | clients | | tps | p99 ms | connect ms (p50) | PostgreSQL µs | PgBouncer µs | load generator µs | whole path µs |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...summary.flatMap(summaryRows),
    "",
    "Every point:",
    "",
    "| scenario | round | TLS | clients | tps | p50 ms | p99 ms | errors | acquire p50 ms | opened | PostgreSQL µs | PgBouncer µs | load generator µs |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ...points.map((p) => {
      const c = p.cpuPerTransactionUs;
      return `| ${p.name} | ${p.round} | ${p.tls ? "on" : "off"} | ${n(p.clients)} | ${n(p.tps)} | ${ms(p.p50Ms)} | ${ms(p.p99Ms)} | ${kinds(p)} | ${ms(p.acquireP50Ms)} | ${n(p.connectionsOpened)} | ${us(c?.postgres)} | ${us(c?.pgbouncer)} | ${us(c?.load)} |`;
    }),
    "",
  ];
}
