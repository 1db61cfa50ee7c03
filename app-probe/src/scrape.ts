/**
 * A cached, single-flight reader for figures that are costly to fetch (PgBouncer SHOW POOLS, PostgreSQL
 * pg_stat_activity): at most one fetch per interval, however many scrapes or /stats calls arrive.
 *
 * The seed's metrics timer never awaited its query and so always logged zero defaults. Here every
 * answer comes from an awaited fetch; a failure is reported as a failure, with the last good figures
 * kept beside it and labelled with their age, never replaced by zeros.
 */

export type ScrapeResult<T> =
  | { ok: true; at: string; data: T }
  | { ok: false; at: string; error: string; last: { at: string; data: T } | undefined };

export class CachedScrape<T> {
  private result: ScrapeResult<T> | undefined;
  private fetchedAt = 0;
  private inFlight: Promise<ScrapeResult<T>> | undefined;

  constructor(
    private readonly fetch: () => Promise<T>,
    private readonly intervalMs: number,
    /** Turns a fetch error into text that is safe to show (no passwords). */
    private readonly describe: (err: unknown) => string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached result when fresh, otherwise the result of one (shared) new fetch. */
  get(): Promise<ScrapeResult<T>> {
    if (this.result !== undefined && this.now() - this.fetchedAt < this.intervalMs) return Promise.resolve(this.result);
    this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async refresh(): Promise<ScrapeResult<T>> {
    const at = new Date(this.now()).toISOString();
    try {
      const data = await this.fetch();
      this.result = { ok: true, at, data };
    } catch (err) {
      const prev = this.result;
      const last = prev === undefined ? undefined : prev.ok ? { at: prev.at, data: prev.data } : prev.last;
      this.result = { ok: false, at, error: this.describe(err), last };
    }
    this.fetchedAt = this.now();
    return this.result;
  }
}
