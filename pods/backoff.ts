/**
 * The kubelet's restart back-off (pkg/kubelet/kuberuntime doBackOff over client-go's flowcontrol.Backoff,
 * 10 s doubling to 300 s): the first restart after an exit is immediate; an exit while a back-off entry
 * is fresh waits out the entry's delay from the exit, then doubles it. An entry untouched for twice the
 * maximum is forgotten, so a container that ran well for ten minutes starts over at 10 s.
 */

export interface BackoffOptions {
  /** kubelet.go backOffPeriod. */
  initialMs?: number;
  /** kubelet.go MaxContainerBackOff. */
  maxMs?: number;
}

export class Backoff {
  private delay = 0;
  private lastUpdate = 0;
  readonly initialMs: number;
  readonly maxMs: number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 10_000;
    this.maxMs = opts.maxMs ?? 300_000;
  }

  private expired(at: number): boolean {
    return at - this.lastUpdate > 2 * this.maxMs;
  }

  /** How long to wait before restarting a container that exited at `exitAt` (0: at once); records the restart. */
  waitFor(exitAt: number, now = Date.now()): number {
    const inBackoff = this.delay > 0 && !this.expired(exitAt) && now - exitAt < this.delay;
    const wait = inBackoff ? this.delay - (now - exitAt) : 0;
    // Next(key, exitAt): the entry doubles (or starts at the initial delay) from this exit.
    this.delay = this.delay === 0 || this.expired(exitAt) ? this.initialMs : Math.min(this.delay * 2, this.maxMs);
    this.lastUpdate = exitAt;
    return wait;
  }
}
