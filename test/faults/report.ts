/**
 * The fault run as data (`--json FILE`, what the README's reliability summary is generated from) and as
 * Markdown (`--report FILE`, docs/reliability.md): both from the same `FaultRun`, so they cannot disagree.
 */
import type { ConnectionLoadResult } from "./connections.ts";
import type { AlertResult } from "./alerts.ts";
import type { FaultAlertResult, FaultResult } from "./run.ts";

export interface FaultRun {
  startedAt: string;
  versions: { postgres: string; pgbouncer: string; redis: string };
  /** Concurrent /probe loops during the faults. */
  concurrency: number;
  /** Load before and after each fault. */
  settleMs: number;
  /** Stack settings the fault stack changes from Pulumi.dev.yaml. */
  overrides: Record<string, unknown>;
  /** pooling:tls as the fault stack ran it (absent in runs from before TLS). */
  tls?: { enabled: boolean; minVersion: string; clientCertificates: boolean };
  faults: FaultResult[];
  /** The many-connections hold, when it ran (`--connections` above 0). */
  connections?: ConnectionLoadResult;
  /** The alert faults in a real Prometheus, when they ran, and the stack settings they changed. */
  alerts?: { overrides: Record<string, unknown>; results: AlertResult[] };
}

export const ms = (n: number) => (n === 0 ? "0" : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`);

export const errorsCell = (errors: number, kinds: Record<string, number>) =>
  errors === 0 ? "0" : `${errors} (${Object.entries(kinds).map(([k, n]) => `${k}: ${n}`).join(", ")})`;

/** A Markdown table: the header row, its separator, one row per cell list. */
function table(header: string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  return [`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

/**
 * What Prometheus showed during one fault: each alert that fired with its time to fire and to clear, an
 * alert the fault may or may not raise marked so, a false alarm or a missing alert in bold; "none" with
 * the reason when nothing fired.
 */
export function faultAlertsCell(a: FaultAlertResult): string {
  const fired = a.fired.map((f) => {
    const mark = a.unexpected.includes(f.alert) ? " **not expected**" : a.allowed.includes(f.alert) ? " (may fire)" : "";
    return `${f.alert}: fired ${ms(f.fireMs)}, ${f.clearMs === undefined ? "**did not clear**" : `cleared ${ms(f.clearMs)}`}${mark}`;
  });
  const lines = [
    ...(fired.length === 0 && a.missing.length === 0 ? [`none (${a.quiet})`] : fired),
    ...a.missing.map((m) => `**${m} did not fire**`),
    ...(a.pendingOnly.length > 0 ? [`pending, not fired: ${a.pendingOnly.join(", ")}`] : []),
  ];
  return lines.join("<br>");
}

export function faultTable(results: FaultResult[]): string {
  const watched = results.some((r) => r.alerts !== undefined);
  const rows = results.map((r) => [
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
      ...(watched ? [r.alerts ? faultAlertsCell(r.alerts) : "not watched"] : []),
  ]);
  const header = "fault | requests during it | errors | error window | PostgreSQL's own restart | recovery (ready again) | connections leaked | acknowledged writes lost | writes applied twice | longest request";
  return table([...header.split(" | "), ...(watched ? ["alerts (time to fire from the fault's start, to clear once undone)"] : [])], rows);
}

/** Each alert fault: the alerts it must fire with their time to fire and to clear, and any other that fired. */
export function alertTable(results: AlertResult[]): string {
  const rows = results.map((r) => [
    r.fault,
    r.alerts.map((a) => `${a.alert}: fired ${ms(a.fireMs)}, cleared ${ms(a.clearMs)}`).join("<br>"),
    r.alsoFired.length === 0 ? "none" : r.alsoFired.join(", "),
    r.unexpected.length === 0 ? "none" : `**${r.unexpected.join(", ")}**`,
  ]);
  return table(["fault", "alert (time to fire from the fault's start, time to clear once undone)", "also fired, as the fault implies", "any other alert"], rows);
}

export function connectionTable(r: ConnectionLoadResult): string {
  return [
    "| client connections | connected | connect time | held | queries | errors | peak PostgreSQL backends | PgBouncer peak RSS (pgbouncer.memory) | probe peak RSS | probe requests (errors) meanwhile |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    `| ${r.clients} | ${r.connected} | ${r.connectSeconds.toFixed(1)} s | ${r.holdSeconds.toFixed(0)} s | ${r.queries} | ${errorsCell(r.errors, r.errorKinds)} | ${r.peakServerConnections} | ${r.pgbouncerPeakRssMiB} MiB${r.pgbouncerLimitMiB === undefined ? "" : ` (${r.pgbouncerLimitMiB} MiB)`} | ${r.probePeakRssMiB} MiB | ${r.probeRequests} (${r.probeErrors}) |`,
  ].join("\n");
}

/** How the fault stack's connections ran: the run's TLS settings. */
export function tlsLine(tls: NonNullable<FaultRun["tls"]>): string {
  if (!tls.enabled) return "TLS off (`pooling:tls.enabled: false`): every connection in plaintext.";
  const clients = tls.clientCertificates ? ", clients showing certificates too" : "";
  return `TLS on every connection (\`pooling:tls\`, ${tls.minVersion} at least${clients}): every client verifies its server against the stack's CA (verify-full).`;
}

/** The whole report: the run's facts, both tables, and what each fault noted while it ran. */
export function reliabilityReport(run: FaultRun): string {
  const v = run.versions;
  return [
    `Fault run: ${run.startedAt}, PostgreSQL ${v.postgres}, PgBouncer ${v.pgbouncer}, Redis ${v.redis},`,
    `${run.concurrency} concurrent /probe loops, ${run.settleMs} ms of load before and after each fault;`,
    `fault stack settings changed from Pulumi.dev.yaml: \`${JSON.stringify(run.overrides)}\`.`,
    ...(run.tls ? [tlsLine(run.tls)] : []),
    ...(run.faults.some((r) => r.alerts)
      ? [
          "The alerts column: what the stack's Prometheus (`npm start -- --monitoring`, rules rendered from the fault stack's config) showed firing in `/api/v1/alerts`",
          "from each fault's start until no alert was active; a rule fires only once its condition has held for its `for`, so a shorter fault must fire nothing.",
        ]
      : []),
    "",
    faultTable(run.faults),
    "",
    ...(run.connections ? [connectionTable(run.connections), ""] : []),
    ...(run.alerts
      ? [
          "Alerts, in the local stack's Prometheus (`npm start -- --monitoring`) with the rules rendered from the stack config; each fault held until its alerts fired, then undone;",
          `alert stack settings changed from Pulumi.dev.yaml: \`${JSON.stringify(run.alerts.overrides)}\`.`,
          "",
          alertTable(run.alerts.results),
          "",
        ]
      : []),
    "What each fault noted while it ran:",
    "",
    ...run.faults.map((r) => `- ${r.fault}: ${r.notes.length > 0 ? r.notes.join("; ") : "nothing"}.`),
    "",
  ].join("\n");
}
