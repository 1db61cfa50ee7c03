/** The local stack the fault tests run against: the dev stack file, copied so a fault may edit it. */
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMonitoring, type LocalMonitoring } from "../../local/monitoring.ts";
import { PROJECT_DIR, startLocalStack, type LocalStack } from "../../local/stack.ts";

/**
 * Prometheus' intervals and the rules' `for` in seconds, not minutes, so an alert fires (or a blip shorter
 * than `for` provably does not) within a fault run. Both fault runs watch alerts with these.
 */
export const FAST_MONITORING = {
  // 2s, not 1s: with its server down, Debian's postgres_exporter 0.11.1 answers a scrape only after a 1 s
  // retry pause (cmd/postgres_exporter/server.go, GetServer), and a scrape may not outlast its interval.
  scrapeInterval: "2s",
  evaluationInterval: "1s",
  for: "3s",
  saturationFor: "3s",
  clientWait: "1s",
  limitShare: 0.8,
};

/**
 * Short PostgreSQL timeouts so the slow-query fault takes seconds, a small maxClientConn so the
 * "beyond maxClientConn" fault needs few connections, and Prometheus watching at FAST_MONITORING's pace.
 * Everything else is Pulumi.dev.yaml.
 *
 * Pool saturation must hold 30 s here, not 3 s: the run's 16 /probe loops on a pool of 8 server
 * connections keep it saturated in bursts of several seconds with no fault at all (seen firing
 * PgBouncerPoolSaturated at saturationFor 3s between faults), which would hide what a fault adds.
 */
export const FAULT_OVERRIDES = {
  postgres: { statementTimeout: "2s", lockTimeout: "1s" },
  pgbouncer: { queryTimeout: "10s", maxClientConn: 100 },
  monitoring: { ...FAST_MONITORING, saturationFor: "30s" },
};

export interface FaultStack {
  stack: LocalStack;
  stackFile: string;
  /** Prometheus and the exporters, when started with `monitoring`. */
  monitoring?: LocalMonitoring;
  close(): Promise<void>;
}

export async function startFaultStack(log: (m: string) => void, overrides: Record<string, unknown> = FAULT_OVERRIDES, opts: { monitoring?: boolean } = {}): Promise<FaultStack> {
  const dir = mkdtempSync(join(tmpdir(), "pooling-faults-"));
  chmodSync(dir, 0o755);
  const stackFile = join(dir, "Pulumi.faults.yaml");
  copyFileSync(join(PROJECT_DIR, "Pulumi.dev.yaml"), stackFile);
  try {
    const stack = await startLocalStack({ configFile: stackFile, overrides, dataDir: join(dir, "data"), fresh: true, freePorts: true, probe: true, installMissing: false, log });
    let monitoring: LocalMonitoring | undefined;
    try {
      if (opts.monitoring) monitoring = await startMonitoring(stack, { installMissing: false, log });
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return {
      stack,
      stackFile,
      monitoring,
      async close() {
        try {
          await monitoring?.stop();
          await stack.stop();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
