import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { registerReadinessGauge } from "./metrics.ts";

/** A readiness check the test answers by hand. */
function controlled() {
  const pending: Array<(ready: boolean) => void> = [];
  let calls = 0;
  const readiness = () => {
    calls++;
    return new Promise<{ ready: boolean }>((resolve) => pending.push((ready) => resolve({ ready })));
  };
  return { readiness, answer: (ready: boolean) => pending.shift()!(ready), calls: () => calls };
}

/** A registry with probe_ready over a controlled check. */
function gauge() {
  const r = new Registry();
  const c = controlled();
  registerReadinessGauge(r, c.readiness);
  return { r, c };
}

const value = async (r: Registry) => (await r.getSingleMetricAsString("probe_ready")).split("\n").find((l) => l.startsWith("probe_ready "));

describe("probe_ready", () => {
  it("reports a readiness check that answers while the scrape waits", async () => {
    const { r, c } = gauge();
    const scrape = value(r);
    c.answer(true);
    expect(await scrape).toBe("probe_ready 1");
  });

  it("reports the last completed answer while a check hangs, and the failure once it comes", async () => {
    const { r, c } = gauge();
    const first = value(r);
    c.answer(true);
    await first;
    // This check hangs past the scrape's wait: the scrape still answers, with the previous result.
    expect(await value(r)).toBe("probe_ready 1");
    // No second check is started while one runs.
    expect(await value(r)).toBe("probe_ready 1");
    expect(c.calls()).toBe(2);
    c.answer(false);
    await new Promise((resolve) => setImmediate(resolve));
    const next = value(r);
    c.answer(false);
    expect(await next).toBe("probe_ready 0");
  });

  it("reports not ready before any check completed", async () => {
    const { r } = gauge();
    expect(await value(r)).toBe("probe_ready 0");
  });
});
