/**
 * A latency histogram that merges across processes: log-spaced buckets (2% wide), counts only, so a
 * worker sends a plain array and the parent adds them up before taking percentiles.
 */

const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** 1 µs to about 4 minutes. */
const BUCKETS = Math.ceil(Math.log(240e6) / LOG_GROWTH) + 1;

export class Histogram {
  readonly counts: number[];
  count = 0;

  constructor(counts?: readonly number[]) {
    this.counts = counts ? [...counts] : new Array<number>(BUCKETS).fill(0);
    for (const c of this.counts) this.count += c;
  }

  /** Records one duration given in milliseconds. */
  record(ms: number): void {
    const us = Math.max(1, ms * 1000);
    const i = Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_GROWTH));
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count++;
  }

  merge(other: { counts: readonly number[] }): this {
    other.counts.forEach((c, i) => {
      this.counts[i] = (this.counts[i] ?? 0) + c;
      this.count += c;
    });
    return this;
  }

  /** The q-th percentile (0–100) in ms, at the middle of its bucket; 0 when empty. */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((q / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return (GROWTH ** i * (1 + GROWTH)) / 2 / 1000;
    }
    return 0;
  }

  toJSON(): number[] {
    return this.counts;
  }
}

/** Percentile of raw samples (pgbench's per-transaction log), in the samples' unit. */
export function percentileOf(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((q / 100) * sorted.length));
  return sorted[rank - 1] ?? 0;
}
