/** The local stack the fault tests run against: the dev stack file, copied so a fault may edit it. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { mergeRaw } from "../../infra/config/overrides.ts";
import type { PgbouncerFigures } from "../../infra/render/index.ts";
import { startMonitoring, type LocalMonitoring } from "../../local/monitoring.ts";
import { redisTlsOptions } from "../../local/services.ts";
import { clientTlsOf, PROJECT_DIR, startLocalStack, type LocalStack } from "../../local/stack.ts";

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
 */
export const FAULT_OVERRIDES = {
  postgres: { statementTimeout: "2s", lockTimeout: "1s" },
  pgbouncer: { queryTimeout: "10s", maxClientConn: 100 },
  monitoring: FAST_MONITORING,
};

/**
 * Written into the fault stack's copy of Pulumi.dev.yaml rather than passed as overrides, because a fault
 * edits this key there (the pool resize) and an override would win over the edit. A pool of 20 server
 * connections for the run's 16 /probe loops: on the dev stack's derived 8, the load alone keeps every
 * server connection busy on a loaded machine (seen: PgBouncerPoolSaturated firing between faults, for
 * over 30 s), and a saturated pool would then say nothing about the fault.
 */
export const FAULT_STACK_FILE = { pgbouncer: { defaultPoolSize: 20 } };

/** Every setting the main fault run changes from Pulumi.dev.yaml, for its report. */
export const faultStackSettings = () => mergeRaw(FAULT_OVERRIDES, FAULT_STACK_FILE) as Record<string, unknown>;

/** ioredis' `tls` options for the stack's Redis: its CA (and the client pair), or none with TLS off. */
export const redisTls = (stack: LocalStack) => redisTlsOptions(clientTlsOf(stack));

export interface FaultStackOptions {
  /** Prometheus and the exporters beside the stack (local/monitoring.ts). */
  monitoring?: boolean;
  /** Keys set in the copied stack file, by section: `{ pgbouncer: { defaultPoolSize: 20 } }`. */
  stackFile?: Record<string, Record<string, unknown>>;
  /**
   * Where the rules' PgBouncer figures come from (local/monitoring.ts). Default `probe`, what the
   * committed runs used, so a run does not change with whether the toolchain has built pgbouncer_exporter.
   */
  pgbouncerFigures?: PgbouncerFigures;
}

export interface FaultStack {
  stack: LocalStack;
  stackFile: string;
  /** Prometheus and the exporters, when started with `monitoring`. */
  monitoring?: LocalMonitoring;
  close(): Promise<void>;
}

export async function startFaultStack(log: (m: string) => void, overrides: Record<string, unknown> = FAULT_OVERRIDES, opts: FaultStackOptions = {}): Promise<FaultStack> {
  const dir = mkdtempSync(join(tmpdir(), "pooling-faults-"));
  chmodSync(dir, 0o755);
  const stackFile = join(dir, "Pulumi.faults.yaml");
  // Edited as a document, so the copy keeps the dev file's layout and comments around the set keys.
  const doc = parseDocument(readFileSync(join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8"));
  for (const [section, keys] of Object.entries(opts.stackFile ?? {})) for (const [key, value] of Object.entries(keys)) doc.setIn(["config", `pooling:${section}`, key], value);
  writeFileSync(stackFile, doc.toString());
  try {
    const stack = await startLocalStack({ configFile: stackFile, overrides, dataDir: join(dir, "data"), fresh: true, freePorts: true, probe: true, installMissing: false, log });
    let monitoring: LocalMonitoring | undefined;
    try {
      if (opts.monitoring) monitoring = await startMonitoring(stack, { installMissing: false, pgbouncerFigures: opts.pgbouncerFigures ?? "probe", log });
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
