/**
 * The alerting rules proven live: the local stack with Debian's Prometheus and exporters, each alert
 * fault held until its alerts fire in Prometheus, then undone until they clear, no other alert firing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALERT_FAULTS, ALERT_OVERRIDES, runAlertFaults, type AlertResult } from "./alerts.ts";
import { startFaultStack, type FaultStack } from "./stack.ts";

describe("the alerts under faults, in a real Prometheus", () => {
  let fs: FaultStack | undefined;
  let results: AlertResult[] = [];
  let failure: unknown;
  const log: string[] = [];

  beforeAll(async () => {
    fs = await startFaultStack((m) => log.push(m), ALERT_OVERRIDES, { monitoring: true });
    // A fault that never fires its alert throws; every test then reports it with the run's log.
    results = await runAlertFaults({ stack: fs.stack, monitoring: fs.monitoring!, say: (m) => log.push(m) }).catch((err: unknown) => {
      failure = err;
      return [];
    });
  }, 600_000);

  afterAll(async () => {
    await fs?.close();
  });

  it.each(ALERT_FAULTS.map((f) => [f.name, f.expect.join(", ")]))("%s: %s fire during the fault and clear after it", (name) => {
    if (failure) throw new Error(`${(failure as Error).message}\nlog:\n${log.join("\n")}`);
    const r = results.find((x) => x.fault === name)!;
    expect(r.alerts.map((a) => a.alert)).toEqual(r.expected);
    for (const a of r.alerts) {
      expect(a.fireMs, a.alert).toBeGreaterThan(0);
      expect(a.clearMs, a.alert).toBeGreaterThanOrEqual(0);
    }
  });

  it("no alert outside a fault's own set fires during it", () => {
    if (failure) throw new Error(`${(failure as Error).message}\nlog:\n${log.join("\n")}`);
    expect(results.filter((r) => r.unexpected.length > 0).map((r) => `${r.fault}: ${r.unexpected.join(", ")}`)).toEqual([]);
  });
});
