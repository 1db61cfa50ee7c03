/**
 * `npm run test:faults -- [--report FILE] [--concurrency N] [--settle-ms MS]`: every fault under steady
 * load through the probe, with a longer settle time than the `npm test` form, and a Markdown table.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { faultTable } from "./report.ts";
import { runFaults } from "./run.ts";
import { startFaultStack } from "./stack.ts";

const { values } = parseArgs({
  options: {
    report: { type: "string" },
    concurrency: { type: "string", default: "16" },
    "settle-ms": { type: "string", default: "3000" },
  },
});
const say = (m: string) => process.stderr.write(`[faults] ${m}\n`);
const concurrency = Number(values.concurrency);
const settleMs = Number(values["settle-ms"]);
if (!Number.isInteger(concurrency) || concurrency < 1 || !Number.isInteger(settleMs) || settleMs < 0) {
  say("--concurrency must be a whole number ≥ 1 and --settle-ms ≥ 0");
  process.exit(2);
}

say("starting the local stack with the probe");
const fs = await startFaultStack(say);
let stopping = false;
const stop = () => {
  if (stopping) process.exit(130);
  stopping = true;
  say("stopping");
  void fs.close().then(() => process.exit(130));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
try {
  const results = await runFaults({ stack: fs.stack, stackFile: fs.stackFile, concurrency, settleMs, say });
  const table = faultTable(results);
  const bad = results.filter((r) => r.connectionsLeaked > 0 || r.writesLost > 0 || (!r.outage && r.errors > 0));
  const text = [
    `Fault run: ${new Date().toISOString()}, PostgreSQL ${fs.stack.versions.postgres}, PgBouncer ${fs.stack.versions.pgbouncer}, Redis ${fs.stack.versions.redis},`,
    `${concurrency} concurrent /probe loops, ${settleMs} ms of load before and after each fault.`,
    "",
    table,
    "",
  ].join("\n");
  if (values.report) writeFileSync(values.report, text);
  process.stdout.write(text);
  process.exitCode = bad.length > 0 ? 1 : 0;
} finally {
  await fs.close();
}
