/** The local stack the fault tests run against: the dev stack file, copied so a fault may edit it. */
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMonitoring, type LocalMonitoring } from "../../local/monitoring.ts";
import { PROJECT_DIR, startLocalStack, type LocalStack } from "../../local/stack.ts";

/**
 * Short PostgreSQL timeouts so the slow-query fault takes seconds, and a small maxClientConn so the
 * "beyond maxClientConn" fault needs few connections. Everything else is Pulumi.dev.yaml.
 */
export const FAULT_OVERRIDES = {
  postgres: { statementTimeout: "2s", lockTimeout: "1s" },
  pgbouncer: { queryTimeout: "10s", maxClientConn: 100 },
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
