/**
 * The bench's latency percentiles, from an HDR histogram (hdr-histogram-js, the TypeScript port of Gil
 * Tene's HdrHistogram). Durations are recorded as whole nanoseconds at 3 significant digits: every value
 * is kept within 0.1% of itself, so a 20 µs pool acquire resolves to 20 ns and a 5 ms request to 5 µs,
 * finer than the report's 0.001 ms (1 µs) for latency and 0.0001 ms for acquires at the values we see.
 * A worker sends its histogram to the parent encoded (HdrHistogram's compressed V2 format, base64) and the
 * parent adds them up before taking percentiles.
 *
 * The pure-JS implementation (the library's default): the WebAssembly one needs an asynchronous
 * initialisation and explicit `destroy()` of every histogram (its README, "Boosting performances with
 * WebAssembly"), and recording is not what limits a load generator that waits on the network.
 */
import * as hdr from "hdr-histogram-js";

const NS_PER_MS = 1e6;
const SIGNIFICANT_DIGITS = 3;
/** The starting range: a minute. autoResize grows it for a longer value rather than dropping it. */
const HIGHEST_NS = 60_000 * NS_PER_MS;

const build = (): hdr.Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_NS, numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, autoResize: true });

export class Histogram {
  private readonly h: hdr.Histogram;

  /** An empty histogram, or the one a worker sent (`encode()`'s string). */
  constructor(encoded?: string) {
    this.h = encoded === undefined ? build() : hdr.decodeFromCompressedBase64(encoded);
    this.h.autoResize = true;
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** Records one duration given in milliseconds (anything under a nanosecond counts as one). */
  record(ms: number): void {
    this.h.recordValue(Math.max(1, Math.round(ms * NS_PER_MS)));
  }

  merge(other: Histogram | string): this {
    this.h.add(typeof other === "string" ? new Histogram(other).h : other.h);
    return this;
  }

  /**
   * The q-th percentile (0–100) in ms; 0 when empty. HdrHistogram's nearest rank: the smallest recorded
   * value that at least q% of the values are at or below, given as the top of its 0.1%-wide bucket
   * (JsHistogram.getValueAtPercentile returns highestEquivalentValue).
   */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    return this.h.getValueAtPercentile(q) / NS_PER_MS;
  }

  /** The compact form a worker sends over IPC. */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }
}

/** A histogram of the given durations in ms. */
export function histogramOf(ms: Iterable<number>): Histogram {
  const h = new Histogram();
  for (const v of ms) h.record(v);
  return h;
}
