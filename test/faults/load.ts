/**
 * Steady load on the probe's /probe endpoint: a fixed number of request loops, each with its own
 * counter key so every acknowledged write can be checked afterwards. Bounded: it stops when told to.
 */
import { Agent, request } from "undici";

export interface Ack {
  at: number;
  /** How long the request took, waiting included. */
  ms: number;
  key: string;
  writeId: string;
  counter: number;
  redisKey: string;
  redisValue: number;
}

export interface Failure {
  at: number;
  kind: string;
}

interface ProbeBody {
  pg?: { writeId: string; counter: number };
  redis?: { key: string; value: number };
  code?: string;
}

export class ProbeLoad {
  readonly acks: Ack[] = [];
  readonly failures: Failure[] = [];
  /** Requests sent per key, counted before each is sent: no key can hold more writes than this. */
  readonly sent = new Map<string, number>();
  private stopped = false;
  private loops: Promise<void>[] = [];
  private readonly agent: Agent;

  constructor(
    private readonly probeUrl: string,
    private readonly concurrency: number,
    private readonly keyPrefix: string,
    private readonly requestTimeoutMs = 30_000,
  ) {
    this.agent = new Agent({ connections: concurrency, keepAliveTimeout: 4000 });
  }

  start(): this {
    this.loops = Array.from({ length: this.concurrency }, (_, i) => this.loop(`${this.keyPrefix}-${i}`));
    return this;
  }

  private async loop(key: string): Promise<void> {
    while (!this.stopped) {
      const at = Date.now();
      this.sent.set(key, (this.sent.get(key) ?? 0) + 1);
      try {
        const res = await request(`${this.probeUrl}/probe?key=${encodeURIComponent(key)}&parts=pg,redis`, {
          dispatcher: this.agent,
          headersTimeout: this.requestTimeoutMs,
          bodyTimeout: this.requestTimeoutMs,
        });
        const body = (await res.body.json()) as ProbeBody;
        if (res.statusCode === 200 && body.pg && body.redis) {
          this.acks.push({ at, ms: Date.now() - at, key, writeId: body.pg.writeId, counter: body.pg.counter, redisKey: body.redis.key, redisValue: body.redis.value });
        } else {
          this.failures.push({ at, kind: `http ${res.statusCode} ${body.code ?? ""}`.trim() });
          // A failing dependency answers fast; do not spin on it.
          await new Promise((r) => setTimeout(r, 20));
        }
      } catch (err) {
        this.failures.push({ at, kind: (err as { code?: string }).code ?? (err as Error).name });
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Requests sent since `since` (acknowledged or failed). */
  countSince(since: number): { requests: number; errors: number } {
    const acks = this.acks.filter((a) => a.at >= since).length;
    const errors = this.failures.filter((f) => f.at >= since).length;
    return { requests: acks + errors, errors };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    await this.agent.close();
  }
}

/** Polls /readyz and records every not-ready answer, so a test can see the probe noticed an outage. */
export class ReadyWatch {
  readonly notReady: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly probeUrl: string) {}

  start(intervalMs = 50): this {
    let busy = false;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      fetch(`${this.probeUrl}/readyz`, { signal: AbortSignal.timeout(2000) })
        .then((r) => {
          if (r.status !== 200) this.notReady.push(Date.now());
          return r.body?.cancel();
        })
        .catch(() => this.notReady.push(Date.now()))
        .finally(() => (busy = false));
    }, intervalMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
