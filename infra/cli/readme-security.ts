/**
 * The README's TLS figures, generated from the bench's `results.json` (`--tls-compare`: what TLS costs)
 * and the fault run's JSON (the certificate rotation under load). Only the fields read here are required.
 */
import { z } from "zod";
import { count, latency } from "./generated.ts";

const side = z.object({
  tps: z.number(),
  p99Ms: z.number(),
  connectMs: z.number().nullable(),
  cpuUs: z.object({ postgres: z.number(), pgbouncer: z.number(), load: z.number() }),
  serversUs: z.number(),
  pathUs: z.number(),
});

const benchTls = z.object({
  machine: z.object({ startedAt: z.string() }),
  tlsComparison: z
    .object({
      level: z.number(),
      rounds: z.number(),
      minVersion: z.string(),
      summary: z.array(
        z.object({
          scenario: z.enum(["before-serial", "stack"]),
          clients: z.number(),
          on: side,
          off: side,
          ratio: z.object({ postgres: z.number().nullable(), pgbouncer: z.number().nullable(), path: z.number().nullable(), tps: z.number().nullable() }),
        }),
      ),
    })
    .optional(),
  targets: z.array(z.object({ target: z.string(), met: z.boolean().nullable() })),
});

const faultRun = z.object({
  startedAt: z.string(),
  concurrency: z.number(),
  faults: z.array(
    z.object({
      fault: z.string(),
      requests: z.number(),
      errors: z.number(),
      acknowledgedWrites: z.number(),
      writesLost: z.number(),
      rotation: z.object({ from: z.number(), to: z.number(), restarted: z.array(z.string()), serverConnections: z.number(), onTls: z.number() }).optional(),
    }),
  ),
});

/** A handshake is a few ms: one decimal below 100 ms. */
const connectTime = (ms: number) => (ms < 100 ? `${ms.toFixed(1)} ms` : latency(ms));
const us = (v: number) => `${v >= 10 ? Math.round(v) : v.toFixed(1)} µs`;
const times = (r: number | null) => (r === null ? "–" : `${r.toFixed(2)}×`);
const change = (r: number | null) => (r === null ? "–" : `${r >= 1 ? "+" : "−"}${Math.abs((r - 1) * 100).toFixed(1)}%`);

function costLines(b: z.infer<typeof benchTls>, report: string): string[] {
  const cmp = b.tlsComparison;
  if (!cmp) return ["What TLS costs: not measured in the committed bench run (`npm run bench -- --tls-compare`)."];
  const serial = cmp.summary.find((s) => s.scenario === "before-serial");
  const stack = cmp.summary.find((s) => s.scenario === "stack");
  const within = b.targets.find((t) => t.target.includes("plaintext cost per transaction"))?.met;
  const rows: string[] = [];
  // PostgreSQL's CPU per new connection is left out: each is a backend living for one request, whose
  // CPU /proc counts in clock ticks (10 ms), coarser than a handshake (bench/procfs.ts).
  if (serial?.on.connectMs != null && serial.off.connectMs != null) {
    rows.push(`| a new connection (1 client): time to connect, p50 | ${connectTime(serial.on.connectMs)} | ${connectTime(serial.off.connectMs)} | +${connectTime(Math.max(0, serial.on.connectMs - serial.off.connectMs))} |`);
    rows.push(`| a new connection per request: client CPU per request | ${us(serial.on.cpuUs.load)} | ${us(serial.off.cpuUs.load)} | ${times(serial.off.cpuUs.load > 0 ? serial.on.cpuUs.load / serial.off.cpuUs.load : null)} |`);
  }
  if (stack) {
    const at = `pooled, ${count(stack.clients)} clients`;
    rows.push(`| ${at}: PostgreSQL CPU per transaction | ${us(stack.on.cpuUs.postgres)} | ${us(stack.off.cpuUs.postgres)} | ${times(stack.ratio.postgres)} |`);
    rows.push(`| ${at}: PgBouncer CPU per transaction | ${us(stack.on.cpuUs.pgbouncer)} | ${us(stack.off.cpuUs.pgbouncer)} | ${times(stack.ratio.pgbouncer)} |`);
    rows.push(`| ${at}: whole path (PostgreSQL + PgBouncer + clients) | ${us(stack.on.pathUs)} | ${us(stack.off.pathUs)} | ${change(stack.ratio.path)}${within === undefined || within === null ? "" : within ? " (within 15%)" : " (**past 15%**)"} |`);
    rows.push(`| ${at}: throughput | ${count(stack.on.tps)} tps | ${count(stack.off.tps)} tps | ${times(stack.ratio.tps)} |`);
  }
  return [
    `What TLS costs (\`npm run bench -- --tls-compare\`, run ${b.machine.startedAt}, [report](${report}#tls-what-it-costs)): two stacks alike but for \`pooling:tls.enabled\`, each point on one then the other, ${cmp.rounds} round${cmp.rounds === 1 ? "" : "s"}, ${cmp.minVersion} or newer; a shared machine, so single figures move between runs.`,
    "",
    "| | TLS | plaintext | TLS / plaintext |",
    "| --- | ---: | ---: | ---: |",
    ...rows,
  ];
}

function rotationLine(f: z.infer<typeof faultRun>, report: string): string {
  const row = f.faults.find((x) => x.rotation !== undefined);
  if (!row?.rotation) return "Certificate rotation under load: not in the committed fault run.";
  const r = row.rotation;
  return (
    `Certificate rotation under load (\`npm run test:faults\`, run ${f.startedAt}, [report](${report})): every leaf replaced (generation ${r.from} → ${r.to}) while ${f.concurrency} \`/probe\` loops ran: ` +
    `${count(row.requests)} requests, ${count(row.errors)} failed, ${row.writesLost} of ${count(row.acknowledgedWrites)} acknowledged writes lost, ${r.restarted.length === 0 ? "no server restarted" : `restarted: ${r.restarted.join(", ")}`}; ` +
    `PgBouncer's ${r.serverConnections} server connections then re-made, ${r.onTls} of them on TLS.`
  );
}

/** The Markdown between the README's security markers: the bench's and the fault run's JSON text. */
export function securitySummary(benchText: string, faultText: string, links = { bench: "docs/performance/report.md", faults: "docs/reliability.md" }): string {
  return [...costLines(benchTls.parse(JSON.parse(benchText)), links.bench), "", rotationLine(faultRun.parse(JSON.parse(faultText)), links.faults)].join("\n");
}
