/**
 * `npm run test:faults -- [--report FILE] [--json FILE] [--concurrency N] [--settle-ms MS]
 * [--connections N] [--hold-seconds S] [--skip-alerts]`: every fault under steady load through the probe
 * (longer than the `npm test` form) with the stack's Prometheus watching its alerts, then N client
 * connections held through PgBouncer for S seconds, then the alert faults (test/faults/alerts.ts). A fault
 * that raises an alert it should not, or misses one it should, fails the run. `--report`
 * writes Markdown (docs/reliability.md), `--json` the same run as data (docs/reliability.json, which
 * `npm run docs` turns into the README's reliability summary).
 */
import { writeFileSync } from "node:fs";
import { parseCommandLine, runCli } from "../../lib/cli.ts";
import { CliUsageError } from "../../lib/errors.ts";
import { ALERT_OVERRIDES, runAlertFaults } from "./alerts.ts";
import { connectionHoldOverrides, holdConnections } from "./connections.ts";
import { reliabilityReport, type FaultRun } from "./report.ts";
import { alertsWrong, runFaults, type FaultResult } from "./run.ts";
import { FAULT_OVERRIDES, FAULT_STACK_FILE, faultStackSettings, startFaultStack } from "./stack.ts";

const USAGE = `npm run test:faults -- [options]
  --report FILE       write the Markdown report (docs/reliability.md)
  --json FILE         write the run as JSON (docs/reliability.json; npm run docs reads it)
  --concurrency N     concurrent /probe loops during the faults (default 16)
  --settle-ms MS      load before and after each fault (default 3000)
  --connections N     client connections held through PgBouncer after the faults; 0 skips (default 10000)
  --hold-seconds S    how long they are held (default 60)
  --skip-alerts       do not run the alert faults (Prometheus with the rendered rules, each alert fired and cleared)
`;

const say = (m: string) => process.stderr.write(`[faults] ${m}\n`);

/** The options as whole numbers, or a CliUsageError; undefined after --help. */
function commandLine(argv: string[]) {
  const { values } = parseCommandLine(
    {
      args: argv,
      options: {
        help: { type: "boolean", short: "h" },
        report: { type: "string" },
        json: { type: "string" },
        concurrency: { type: "string", default: "16" },
        "settle-ms": { type: "string", default: "3000" },
        connections: { type: "string", default: "10000" },
        "hold-seconds": { type: "string", default: "60" },
        "skip-alerts": { type: "boolean", default: false },
      },
    },
    USAGE,
  );
  if (values.help) return undefined;
  const numbers = { concurrency: Number(values.concurrency), settleMs: Number(values["settle-ms"]), connections: Number(values.connections), holdSeconds: Number(values["hold-seconds"]) };
  if (!Object.values(numbers).every((n) => Number.isInteger(n) && n >= 0) || numbers.concurrency < 1) {
    throw new CliUsageError(`--concurrency must be a whole number ≥ 1; --settle-ms, --connections and --hold-seconds whole numbers ≥ 0\n\n${USAGE}`);
  }
  return { ...values, ...numbers };
}

async function main(argv: string[]): Promise<number> {
  const values = commandLine(argv);
  if (!values) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { concurrency, settleMs, connections, holdSeconds } = values;
  let status = 0;
  say("starting the local stack with the probe, Prometheus and the exporters");
  let fs = await startFaultStack(say, FAULT_OVERRIDES, { monitoring: true, stackFile: FAULT_STACK_FILE });
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
    const startedAt = new Date().toISOString();
    const faults = await runFaults({ stack: fs.stack, stackFile: fs.stackFile, concurrency, settleMs, say, prometheusUrl: fs.monitoring!.prometheusUrl });
    const { enabled, minVersion, clientCertificates } = fs.stack.config.tls;
    const run: FaultRun = { startedAt, versions: fs.stack.versions, concurrency, settleMs, overrides: faultStackSettings(), tls: { enabled, minVersion, clientCertificates }, faults };
    const rotationWrong = (r: FaultResult) => r.rotation !== undefined && (r.rotation.restarted.length > 0 || r.rotation.onTls !== r.rotation.serverConnections);
    if (faults.some((r) => r.connectionsLeaked > 0 || r.writesLost > 0 || (!r.outage && r.errors > 0) || alertsWrong(r.alerts) || rotationWrong(r))) status = 1;
    if (connections > 0) {
      await fs.close();
      say(`${connections} client connections through PgBouncer for ${holdSeconds} s`);
      fs = await startFaultStack(say, connectionHoldOverrides(connections));
      run.connections = await holdConnections(fs.stack, { clients: connections, holdMs: holdSeconds * 1000, say });
      const c = run.connections;
      // Past pgbouncer.memory, Kubernetes would have killed PgBouncer: the rule that set it was wrong.
      if (c.errors > 0 || c.connected < connections || c.probeErrors > 0 || c.pgbouncerPeakRssMiB * 2 ** 20 > fs.stack.config.pgbouncer.memory) status = 1;
    }
    if (!values["skip-alerts"]) {
      await fs.close();
      say("alert faults: the local stack with Prometheus and the exporters");
      fs = await startFaultStack(say, ALERT_OVERRIDES, { monitoring: true });
      const results = await runAlertFaults({ stack: fs.stack, monitoring: fs.monitoring!, say });
      run.alerts = { overrides: ALERT_OVERRIDES, results };
      if (results.some((r) => r.unexpected.length > 0)) status = 1;
    }
    const text = reliabilityReport(run);
    if (values.report) writeFileSync(values.report, text);
    if (values.json) writeFileSync(values.json, `${JSON.stringify(run, null, 2)}\n`);
    process.stdout.write(text);
    return status;
  } finally {
    await fs.close();
  }
}

runCli(main, { prefix: "[faults] " });
