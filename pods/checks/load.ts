/**
 * Probe load against the probe app's pods and the look-up of every write they acknowledged, through the
 * PostgreSQL and Redis pods themselves.
 */
import { ProbeLoad, type Ack } from "../../test/faults/load.ts";
import { waitUntil } from "../../lib/wait.ts";
import { onePod, probeUrls, redisCli, serverContainer, sql, type CheckContext, CheckError } from "./context.ts";

/** One request loop set per probe pod, each loop with its own counter key. */
export class PodLoad {
  private readonly loads: ProbeLoad[];
  private stopped: Promise<void> | undefined;

  constructor(ctx: CheckContext, concurrencyPerPod: number, label: string) {
    const urls = probeUrls(ctx);
    if (urls.length === 0) throw new CheckError("no ready probe pod to send load to");
    this.loads = urls.map((u, i) => new ProbeLoad(u, concurrencyPerPod, `${label}-${i}-${Date.now()}`, 20_000).start());
  }

  get acks(): Ack[] {
    return this.loads.flatMap((l) => l.acks);
  }

  get failures() {
    return this.loads.flatMap((l) => l.failures);
  }

  /** Resolves once `n` more writes were acknowledged: the load is really flowing. */
  async flowing(n: number, timeoutMs = 60_000): Promise<void> {
    const start = this.acks.length;
    await waitUntil(`${n} acknowledged writes (load flowing)`, () => this.acks.length >= start + n, timeoutMs, 50).catch((err: unknown) => {
      throw new CheckError(`load did not flow: ${this.acks.length - start} of ${n} acknowledged, ${this.failures.length} failures`, { cause: err });
    });
  }

  /** Ends every request loop; a second call waits for the first. */
  stop(): Promise<void> {
    this.stopped ??= Promise.all(this.loads.map((l) => l.stop())).then(() => undefined);
    return this.stopped;
  }
}

/** Acknowledged writes missing from PostgreSQL (by id) or from Redis (a counter below an acknowledged INCR). */
export async function lostWrites(ctx: CheckContext, acks: readonly Ack[]): Promise<{ postgres: number; redis: number }> {
  if (acks.length === 0) return { postgres: 0, redis: 0 };
  const found = new Set(await sql(ctx, "SELECT id::text FROM probe_writes"));
  const postgres = acks.filter((a) => !found.has(a.writeId)).length;
  const keys = [...new Set(acks.map((a) => a.redisKey))];
  const redisPod = onePod(ctx, "cache");
  // redis-cli reads the password from REDISCLI_AUTH, which the container's env holds.
  const r = await ctx.cluster.exec(redisPod.name, serverContainer(ctx, "cache"), [...redisCli(ctx), "--no-raw", "MGET", ...keys], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new CheckError(`redis-cli MGET failed: ${r.stderr.trim()}`);
  const values = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => Number(/"(\d+)"/.exec(l)?.[1] ?? 0));
  const current = new Map(keys.map((k, i) => [k, values[i] ?? 0]));
  const redis = acks.filter((a) => a.redisValue > current.get(a.redisKey)!).length;
  return { postgres, redis };
}

/** "1,234 acknowledged, 3 failed (ECONNRESET ×2, http 503 ×1)" */
export function loadSummary(load: PodLoad): string {
  const kinds = new Map<string, number>();
  for (const f of load.failures) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  const list = [...kinds].map(([k, n]) => `${k} ×${n}`).join(", ");
  return `${load.acks.length} acknowledged, ${load.failures.length} failed${list ? ` (${list})` : ""}`;
}
