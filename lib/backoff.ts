/**
 * The restart back-off every supervisor shares: a delay doubling from `initialMs` to `maxMs`, forgotten
 * after `resetAfterMs` without an update. Its shape is client-go's flowcontrol.Backoff (backoff.go:
 * Next doubles the entry or starts it at the initial duration, an entry untouched for twice the maximum
 * is expired), which the kubelet's restart back-off is built on (pkg/kubelet/kuberuntime, doBackOff).
 * Our own code rather than a retry library (p-retry, exponential-backoff): those retry one promise,
 * while a supervisor needs the delay itself, computed from exit times it observes.
 */

export interface BackoffOptions {
  /** The first delay (kubelet.go backOffPeriod: 10 s). */
  initialMs?: number;
  /** The delay stops doubling here (kubelet.go MaxContainerBackOff: 300 s). */
  maxMs?: number;
  /** An entry not updated for this long starts over at `initialMs` (client-go: twice the maximum). */
  resetAfterMs?: number;
}

export class Backoff {
  private delay = 0;
  private lastUpdate = 0;
  readonly initialMs: number;
  readonly maxMs: number;
  readonly resetAfterMs: number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 10_000;
    this.maxMs = opts.maxMs ?? 300_000;
    this.resetAfterMs = opts.resetAfterMs ?? 2 * this.maxMs;
  }

  private expired(at: number): boolean {
    return at - this.lastUpdate > this.resetAfterMs;
  }

  /** Steps the sequence at time `at` and returns the new delay: initialMs, then doubled up to maxMs. */
  next(at = Date.now()): number {
    this.delay = this.delay === 0 || this.expired(at) ? this.initialMs : Math.min(this.delay * 2, this.maxMs);
    this.lastUpdate = at;
    return this.delay;
  }

  /** Starts over: the next delay is initialMs (a process that ran long enough to count as healthy). */
  reset(): void {
    this.delay = 0;
  }

  /**
   * The kubelet's reading: how long to wait before restarting a container that exited at `exitAt` (0: at
   * once, when no entry is fresh); records the restart. An exit while an entry is fresh waits out the
   * entry's delay from the exit, then doubles it.
   */
  waitFor(exitAt: number, now = Date.now()): number {
    const inBackoff = this.delay > 0 && !this.expired(exitAt) && now - exitAt < this.delay;
    const wait = inBackoff ? this.delay - (now - exitAt) : 0;
    this.next(exitAt);
    return wait;
  }
}
