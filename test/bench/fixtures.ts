/** Scenario points for the bench's unit tests: plausible figures, any of them overridden. */
import { cpuPerTransactionUs, type ScenarioName, type ScenarioPoint } from "../../bench/results.ts";

export function point(name: ScenarioName, clients: number, over: Partial<ScenarioPoint> = {}): ScenarioPoint {
  const transactions = over.transactions ?? 10_000;
  const cpuSeconds = over.cpuSeconds ?? { postgres: 0.5, pgbouncer: 0.2, load: 0.3, machineBusy: 1.2, machineIdle: 0.8 };
  return {
    name, clients, tps: 1000, p50Ms: 1, p99Ms: 5, errors: 0, errorsByKind: {}, errorSamples: {}, peakBackends: 25,
    busyBackends: { peak: 4, mean: 2 }, baselineBackends: 0, connectionsOpened: 0, transactions, reuseRatio: 1,
    acquireP50Ms: null, acquireP99Ms: null, clientConnectionsOpened: 0, instances: 1, loadProcesses: 1, maxConnections: 200,
    elapsedMs: 10_000, unfinished: 0, memoryKb: { pgbouncer: 0, loadProcessesTotal: 0, loadProcessMax: 0 }, cpuSeconds,
    cpuPerTransactionUs: cpuPerTransactionUs(cpuSeconds, transactions), database: { xacts: transactions, tupReturned: transactions, tupFetched: transactions },
    loadCpusAllowed: [], ...over,
  };
}

