/**
 * The bench's percentiles against distributions whose percentiles are known: nearest rank (no rank off
 * by one), HdrHistogram's 3 significant digits (within 0.1%, where the old 2%-wide buckets were off by
 * up to 1%), across workers (encoded, merged) and beyond the starting range.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Histogram, histogramOf } from "../../bench/histogram.ts";

/** The exact nearest-rank percentile of raw samples: the smallest value with at least q% at or below it. */
function nearestRank(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((q / 100) * sorted.length)) - 1]!;
}

/**
 * Within 3 significant digits of `exact`, never below it (HdrHistogram reports the top of a value's
 * bucket) but for the recording's rounding to whole nanoseconds.
 */
function expectWithinPrecision(got: number, exact: number): void {
  expect(got).toBeGreaterThanOrEqual(exact - 1e-6);
  expect(got).toBeLessThanOrEqual(exact * 1.001 + 1e-6);
}

describe("the bench's latency histogram", () => {
  test("1 ms to 100 ms once each: p50 is 50 ms and p99 is 99 ms, the nearest rank", () => {
    const h = histogramOf(Array.from({ length: 100 }, (_, i) => i + 1));
    expectWithinPrecision(h.percentile(50), 50);
    expectWithinPrecision(h.percentile(99), 99);
    expectWithinPrecision(h.percentile(100), 100);
    expect(h.count).toBe(100);
  });

  test("99 fast requests and one slow one: p99 is a fast one, the slow one only at p100", () => {
    const h = histogramOf([...Array<number>(99).fill(1), 100]);
    expectWithinPrecision(h.percentile(99), 1);
    expectWithinPrecision(h.percentile(99.5), 100);
  });

  test("a 20 µs pool acquire resolves to within 20 ns, finer than the report's 0.0001 ms", () => {
    const h = histogramOf([0.02, 0.02, 0.0203]);
    expect(Math.abs(h.percentile(50) - 0.02)).toBeLessThan(0.00002);
    expect(h.percentile(50)).toBeLessThan(h.percentile(100));
  });

  test("any durations from 1 µs to 10 minutes: every percentile within 0.1% of the exact nearest rank", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.001, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (values, q) => expectWithinPrecision(histogramOf(values).percentile(q), nearestRank(values, q)),
      ),
    );
  });

  test("workers' encoded histograms merge to the histogram of all their values", () => {
    const a = Array.from({ length: 500 }, (_, i) => 0.5 + i / 100);
    const b = Array.from({ length: 300 }, (_, i) => 3 + i / 7);
    const merged = new Histogram().merge(histogramOf(a).encode()).merge(histogramOf(b).encode());
    const whole = histogramOf([...a, ...b]);
    expect(merged.count).toBe(800);
    for (const q of [1, 50, 90, 99, 100]) expect(merged.percentile(q)).toBe(whole.percentile(q));
  });

  test("an empty histogram answers 0", () => {
    expect(new Histogram().percentile(99)).toBe(0);
    expect(new Histogram(new Histogram().encode()).percentile(50)).toBe(0);
  });
});
