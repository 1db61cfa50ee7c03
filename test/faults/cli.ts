/**
 * `npm run test:faults -- [--report FILE] [--concurrency N] [--settle-ms MS] [--connections N]
 * [--hold-seconds S]`: every fault under steady load through the probe (longer than the `npm test`
 * form), then N client connections held through PgBouncer for S seconds; Markdown tables.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { holdConnections } from "./connections.ts";
import { connectionTable, faultTable } from "./report.ts";
import { runFaults } from "./run.ts";
import { startFaultStack } from "./stack.ts";

const { values } = parseArgs({
  options: {
    report: { type: "string" },
    concurrency: { type: "string", default: "16" },
    "settle-ms": { type: "string", default: "3000" },
    connections: { type: "string", default: "10000" },
    "hold-seconds": { type: "string", default: "60" },
  },
});
const say = (m: string) => process.stderr.write(`[faults] ${m}\n`);
const concurrency = Number(values.concurrency);
const settleMs = Number(values["settle-ms"]);
const connections = Number(values.connections);
const holdSeconds = Number(values["hold-seconds"]);
if (![concurrency, settleMs, connections, holdSeconds].every((n) => Number.isInteger(n) && n >= 0) || concurrency < 1) {
  say("--concurrency must be a whole number ≥ 1; --settle-ms, --connections and --hold-seconds whole numbers ≥ 0");
  process.exit(2);
}

say("starting the local stack with the probe");
let fs = await startFaultStack(say);
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
  const bad = results.filter((r) => r.connectionsLeaked > 0 || r.writesLost > 0 || (!r.outage && r.errors > 0));
  const lines = [
    `Fault run: ${new Date().toISOString()}, PostgreSQL ${fs.stack.versions.postgres}, PgBouncer ${fs.stack.versions.pgbouncer}, Redis ${fs.stack.versions.redis},`,
    `${concurrency} concurrent /probe loops, ${settleMs} ms of load before and after each fault.`,
    "",
    faultTable(results),
    "",
  ];
  if (connections > 0) {
    await fs.close();
    say(`${connections} client connections through PgBouncer for ${holdSeconds} s`);
    fs = await startFaultStack(say, { pgbouncer: { maxClientConn: connections + 200 } });
    const load = await holdConnections(fs.stack, { clients: connections, holdMs: holdSeconds * 1000, say });
    lines.push(connectionTable(load), "");
    if (load.errors > 0 || load.connected < connections || load.probeErrors > 0) process.exitCode = 1;
  }
  const text = lines.join("\n");
  if (values.report) writeFileSync(values.report, text);
  process.stdout.write(text);
  if (bad.length > 0) process.exitCode = 1;
} finally {
  await fs.close();
}
