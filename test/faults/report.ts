/** The fault table as Markdown, for `npm run test:faults -- --report FILE` and the README. */
import type { ConnectionLoadResult } from "./connections.ts";
import type { FaultResult } from "./run.ts";

const ms = (n: number) => (n === 0 ? "0" : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`);

export function faultTable(results: FaultResult[]): string {
  const rows = results.map((r) =>
    [
      r.fault,
      r.requests,
      r.errors === 0 ? "0" : `${r.errors} (${Object.entries(r.errorKinds).map(([k, n]) => `${k}: ${n}`).join(", ")})`,
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
  const kinds = Object.entries(r.errorKinds).map(([k, n]) => `${k}: ${n}`).join(", ");
  return [
    "| client connections | connected | connect time | held | queries | errors | peak PostgreSQL backends | PgBouncer peak RSS | probe peak RSS | probe requests (errors) meanwhile |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    `| ${r.clients} | ${r.connected} | ${r.connectSeconds.toFixed(1)} s | ${r.holdSeconds.toFixed(0)} s | ${r.queries} | ${r.errors}${kinds ? ` (${kinds})` : ""} | ${r.peakServerConnections} | ${r.pgbouncerPeakRssMiB} MiB | ${r.probePeakRssMiB} MiB | ${r.probeRequests} (${r.probeErrors}) |`,
  ].join("\n");
}
