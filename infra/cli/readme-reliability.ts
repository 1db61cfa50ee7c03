/**
 * The README's reliability summary, generated from the fault run's JSON (`npm run test:faults --
 * --json docs/reliability.json`). Only the fields read here are required; others are ignored.
 */
import { z } from "zod";
import { count, latency } from "./generated.ts";

const fault = z.object({
  fault: z.string(),
  requests: z.number(),
  errors: z.number(),
  connectionsLeaked: z.number(),
  acknowledgedWrites: z.number(),
  writesLost: z.number(),
  writesDuplicated: z.number(),
  longestRequestMs: z.number(),
  /** What the stack's Prometheus showed during the fault, when it watched the run. */
  alerts: z
    .object({
      fired: z.array(z.object({ alert: z.string(), fireMs: z.number(), clearMs: z.number().optional() })),
      missing: z.array(z.string()),
      unexpected: z.array(z.string()),
    })
    .optional(),
});

export const reliabilityResults = z.object({
  startedAt: z.string(),
  versions: z.object({ postgres: z.string(), pgbouncer: z.string(), redis: z.string() }),
  concurrency: z.number(),
  faults: z.array(fault),
  connections: z
    .object({
      clients: z.number(),
      connected: z.number(),
      holdSeconds: z.number(),
      queries: z.number(),
      errors: z.number(),
      peakServerConnections: z.number(),
      pgbouncerPeakRssMiB: z.number(),
      /** pooling:pgbouncer.memory of that stack (absent in early runs). */
      pgbouncerLimitMiB: z.number().optional(),
      /** The probe's own requests meanwhile (absent in early runs). */
      probeRequests: z.number().optional(),
      probeErrors: z.number().optional(),
    })
    .optional(),
  alerts: z
    .object({
      results: z.array(
        z.object({
          fault: z.string(),
          alerts: z.array(z.object({ alert: z.string(), fireMs: z.number(), clearMs: z.number() })),
          unexpected: z.array(z.string()),
        }),
      ),
    })
    .optional(),
});
export type ReliabilityResults = z.infer<typeof reliabilityResults>;


function connectionsLine(c: NonNullable<ReliabilityResults["connections"]>): string {
  return (
    `${count(c.clients)} client connections held through PgBouncer for ${Math.round(c.holdSeconds)} s: ${count(c.connected)} connected, ` +
    `${count(c.queries)} queries, ${count(c.errors)} failed, at most ${c.peakServerConnections} PostgreSQL backends, PgBouncer at most ${c.pgbouncerPeakRssMiB} MiB` +
    (c.pgbouncerLimitMiB === undefined ? "" : ` (its memory limit ${c.pgbouncerLimitMiB} MiB)`) +
    (c.probeRequests === undefined ? "." : `; the probe meanwhile: ${count(c.probeRequests)} requests, ${count(c.probeErrors ?? 0)} failed.`)
  );
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The alerts a fault fired, each with its time to fire and to clear; a false alarm or a missing one in bold. */
function faultAlerts(a: NonNullable<z.infer<typeof fault>["alerts"]>): string {
  const fired = a.fired.map((f) => {
    const text = `${f.alert}: ${seconds(f.fireMs)}, ${f.clearMs === undefined ? "did not clear" : seconds(f.clearMs)}`;
    return a.unexpected.includes(f.alert) || f.clearMs === undefined ? `**${text}**` : text;
  });
  const lines = [...fired, ...a.missing.map((m) => `**${m} did not fire**`)];
  return lines.length === 0 ? "none" : lines.join("<br>");
}

/** The alert faults: each alert's time to fire and to clear in the local Prometheus. */
function alertLines(results: NonNullable<ReliabilityResults["alerts"]>["results"]): string[] {
  return [
    "Alerts in a real Prometheus (rules rendered from the stack config), each fault held until its alerts fired:",
    "",
    "| fault | alert: time to fire, time to clear | other alerts |",
    "| --- | --- | --- |",
    ...results.map((r) => `| ${r.fault} | ${r.alerts.map((a) => `${a.alert}: ${seconds(a.fireMs)}, ${seconds(a.clearMs)}`).join("<br>")} | ${r.unexpected.length === 0 ? "none" : r.unexpected.join(", ")} |`),
  ];
}

/** The Markdown between the README's reliability markers: `text` is the fault run's JSON. */
export function reliabilitySummary(text: string, link = "docs/reliability.md"): string {
  const r = reliabilityResults.parse(JSON.parse(text));
  const v = r.versions;
  const watched = r.faults.some((f) => f.alerts !== undefined);
  return [
    `From the fault run started ${r.startedAt} ([report](${link})): PostgreSQL ${v.postgres}, PgBouncer ${v.pgbouncer}, Redis ${v.redis},`,
    `${r.concurrency} concurrent \`/probe\` loops${watched ? "; the alerts column: what fired in the stack's Prometheus (time to fire, to clear)" : ""}.`,
    "",
    `| fault | requests | failed | server connections leaked | acknowledged writes lost | writes applied twice | longest request |${watched ? " alerts |" : ""}`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: |${watched ? " --- |" : ""}`,
    ...r.faults.map(
      (f) =>
        `| ${f.fault} | ${count(f.requests)} | ${count(f.errors)} | ${f.connectionsLeaked} | ${f.writesLost} of ${count(f.acknowledgedWrites)} | ${f.writesDuplicated} | ${latency(f.longestRequestMs)} |${watched ? ` ${f.alerts ? faultAlerts(f.alerts) : "not watched"} |` : ""}`,
    ),
    ...(r.connections ? ["", connectionsLine(r.connections)] : []),
    ...(r.alerts ? ["", ...alertLines(r.alerts.results)] : []),
  ].join("\n");
}
