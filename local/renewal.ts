/**
 * `npm start` renews the leaves while it runs: a timer looks at them every renewalCheckInterval() and,
 * once any is within pooling:tls.renewBefore of its end, has the reloader rotate the whole set. A failed
 * rotation (a server that did not answer) is said and tried again at the next look: the old leaves stay
 * in use and are still valid, since the margin is at least half their lifetime (infra/config/checks.ts).
 */
import type { StackConfig } from "../infra/config/index.ts";
import type { Log } from "./supervisor.ts";
import type { LocalTls } from "./tls.ts";

const MIN_CHECK_MS = 1000;
const MAX_CHECK_MS = 3_600_000;

/** How often to look: a tenth of the margin, so a renewal starts within 10% of it, between 1 s and 1 h. */
export function renewalCheckInterval(cfg: StackConfig): number {
  return Math.min(MAX_CHECK_MS, Math.max(MIN_CHECK_MS, Math.floor(cfg.tls.renewBefore / 10)));
}

export class RenewalTimer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Rotations this timer started and that completed. */
  renewals = 0;

  constructor(
    private readonly config: () => StackConfig,
    private readonly tls: LocalTls,
    private readonly rotate: () => Promise<unknown>,
    private readonly say: Log,
  ) {}

  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule());
    }, renewalCheckInterval(this.config()));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const cfg = this.config();
    if (this.stopped || !cfg.tls.enabled || !this.tls.due(cfg)) return;
    try {
      await this.rotate();
      this.renewals++;
      this.say(`tls: leaves renewed (generation ${this.tls.generation}); every server reloaded them`);
    } catch (err) {
      this.say(`tls: renewal failed, the current leaves stay in use and it is tried again: ${(err as Error).message}`);
    }
  }

  /** No look starts after this; resolves once the one under way (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
