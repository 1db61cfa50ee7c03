/**
 * The fault run as data (`--json FILE`, what the README's reliability summary is generated from) and as
 * Markdown (`--report FILE`, docs/reliability.md): both from the same `FaultRun`, so they cannot disagree.
 */
import type { ConnectionLoadResult } from "./connections.ts";
import type { FaultResult } from "./run.ts";

export interface FaultRun {
  startedAt: string;
  versions: { postgres: string; pgbouncer: string; redis: string };
  /** Concurrent /probe loops during the faults. */
  concurrency: number;
  /** Load before and after each fault. */
  settleMs: number;
  /** Stack settings the fault stack changes from Pulumi.dev.yaml. */
  overrides: Record<string, unknown>;
  faults: FaultResult[];
  /** The many-connections hold, when it ran (`--connections` above 0). */
  connections?: ConnectionLoadResult;
}

export const ms = (n: number) => (n === 0 ? "0" : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`);

export const errorsCell = (errors: number, kinds: Record<string, number>) =>
  errors === 0 ? "0" : `${errors} (${Object.entries(kinds).map(([k, n]) => `${k}: ${n}`).join(", ")})`;

export function faultTable(results: FaultResult[]): string {
  const rows = results.map((r) =>
    [
      r.fault,
      r.requests,
      errorsCell(r.errors, r.errorKinds),
      r.errors === 0 ? "none" : ms(r.errorWindowMs),
      r.postgresRestartMs === undefined ? "n/a" : ms(r.postgresRestartMs),
      r.outage ? `${ms(r.recoveryMs)}${r.readinessNoticed ? "" : " (readiness did not notice)"}` : "n/a",
      r.connectionsLeaked,
      `${r.writesLost} of ${r.acknowledgedWrites}`,
      r.writesDuplicated,
      ms(r.longestRequestMs),
    ].join(" | "),
  );
  return [
    "| fault | requests during it | errors | error window | PostgreSQL's own restart | recovery (ready again) | connections leaked | acknowledged writes lost | writes applied twice | longest request |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r} |`),
  ].join("\n");
}

export function connectionTable(r: ConnectionLoadResult): string {
  return [
    "| client connections | connected | connect time | held | queries | errors | peak PostgreSQL backends | PgBouncer peak RSS | probe peak RSS | probe requests (errors) meanwhile |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    `| ${r.clients} | ${r.connected} | ${r.connectSeconds.toFixed(1)} s | ${r.holdSeconds.toFixed(0)} s | ${r.queries} | ${errorsCell(r.errors, r.errorKinds)} | ${r.peakServerConnections} | ${r.pgbouncerPeakRssMiB} MiB | ${r.probePeakRssMiB} MiB | ${r.probeRequests} (${r.probeErrors}) |`,
  ].join("\n");
}

/** The whole report: the run's facts, both tables, and what each fault noted while it ran. */
export function reliabilityReport(run: FaultRun): string {
  const v = run.versions;
  return [
    `Fault run: ${run.startedAt}, PostgreSQL ${v.postgres}, PgBouncer ${v.pgbouncer}, Redis ${v.redis},`,
    `${run.concurrency} concurrent /probe loops, ${run.settleMs} ms of load before and after each fault;`,
    `fault stack settings changed from Pulumi.dev.yaml: \`${JSON.stringify(run.overrides)}\`.`,
    "",
    faultTable(run.faults),
    "",
    ...(run.connections ? [connectionTable(run.connections), ""] : []),
    "What each fault noted while it ran:",
    "",
    ...run.faults.map((r) => `- ${r.fault}: ${r.notes.length > 0 ? r.notes.join("; ") : "nothing"}.`),
    "",
  ].join("\n");
}
