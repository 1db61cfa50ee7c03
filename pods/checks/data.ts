/**
 * Checks that data flows and survives: the probe end to end through the Services, a PgBouncer pod
 * drained under load, and the PostgreSQL pod deleted and recreated on its claim.
 */
import { request } from "undici";
import { serverContainerOf, workloadOf } from "../stack.ts";
import { CheckError, onePod, podsOf, probeUrls, redisCli, serverContainer, sql, stackFacts, until, type CheckContext, type CheckResult } from "./context.ts";
import { PodLoad, loadSummary, lostWrites } from "./load.ts";

/** The probe pod's /probe: a write through the PgBouncer Service to PostgreSQL and an INCR on Redis. */
export async function probeEndToEnd(ctx: CheckContext): Promise<CheckResult> {
  const name = "probe-end-to-end";
  const [url] = probeUrls(ctx);
  if (!url) return { name, ok: false, detail: "no ready probe pod" };
  const res = await request(`${url}/probe?parts=pg,redis&key=pods-e2e`, { headersTimeout: 30_000, bodyTimeout: 30_000 });
  const body = (await res.body.json()) as { pg?: { writeId: string }; redis?: { key: string; value: number } };
  if (res.statusCode !== 200 || !body.pg || !body.redis) return { name, ok: false, detail: `/probe answered ${res.statusCode}: ${JSON.stringify(body)}` };
  const rows = await sql(ctx, `SELECT count(*) FROM probe_writes WHERE id = '${body.pg.writeId}'`);
  const redisPod = onePod(ctx, "cache");
  const got = await ctx.cluster.exec(redisPod.name, serverContainer(ctx, "cache"), [...redisCli(ctx), "GET", body.redis.key], { timeoutMs: 15_000 });
  const ok = rows[0] === "1" && Number(got.stdout.trim()) >= body.redis.value;
  return { name, ok, detail: `write ${body.pg.writeId} ${rows[0] === "1" ? "found" : "missing"} in PostgreSQL; ${body.redis.key} = ${got.stdout.trim()} in Redis (acknowledged ${body.redis.value})` };
}

/** A PgBouncer pod deleted under probe load: every acknowledged write is still there; errors are counted. */
export async function drainUnderLoad(ctx: CheckContext): Promise<CheckResult> {
  const name = "drain-under-load";
  const load = new PodLoad(ctx, ctx.short ? 8 : 32, "drain");
  try {
    await load.flowing(50);
    const victim = podsOf(ctx, "pooler")[0]!;
    ctx.log(`deleting ${victim.name} under load`);
    const before = load.failures.length;
    const gone = await ctx.cluster.deletePod(victim.name);
    await until("PgBouncer back at full strength", 120_000, async () => (podsOf(ctx, "pooler").filter((p) => p.ready).length >= stackFacts(ctx).pgbouncerReplicas ? true : undefined));
    await load.flowing(50);
    await load.stop();
    const lost = await lostWrites(ctx, load.acks);
    const errors = load.failures.length - before;
    const ok = lost.postgres === 0 && lost.redis === 0;
    return {
      name,
      ok,
      detail: `${victim.name} left in ${gone.terminationSeconds?.toFixed(1)} s of ${gone.graceSeconds} s grace; ${loadSummary(load)}; ${errors} errors during the drain; lost writes: PostgreSQL ${lost.postgres}, Redis ${lost.redis}`,
    };
  } finally {
    await load.stop();
  }
}

/** The PostgreSQL pod deleted and recreated by its StatefulSet on the same claim: the writes are still there. */
export async function postgresRestartKeepsData(ctx: CheckContext): Promise<CheckResult> {
  const name = "postgres-restart-keeps-data";
  const load = new PodLoad(ctx, 4, "pg-restart");
  await load.flowing(20);
  await load.stop();
  const acks = load.acks;
  const pod = onePod(ctx, "database");
  const gone = await ctx.cluster.deletePod(pod.name);
  const back = await until("the PostgreSQL pod Ready again", 180_000, async () => podsOf(ctx, "database").find((p) => p.ready));
  const lost = await lostWrites(ctx, acks);
  const pgdataMode = await ctx.cluster.exec(back.name, serverContainer(ctx, "database"), ["stat", "-c", "%a", pgdata(ctx)], { timeoutMs: 10_000 });
  const ok = lost.postgres === 0 && gone.containers.every((c) => !c.killed);
  return {
    name,
    ok,
    detail:
      `${acks.length} acknowledged writes before; ${pod.name} stopped in ${gone.terminationSeconds?.toFixed(1)} s (${gone.containers.map((c) => `${c.name} exit ${c.exitCode}${c.killed ? " SIGKILL" : ""}`).join(", ")}); ` +
      `recreated as ${back.name}, Ready in ${back.readySeconds?.toFixed(1)} s; PGDATA mode ${pgdataMode.stdout.trim()}; lost: ${lost.postgres}`,
  };
}

/** The data directory the database's server is started with (`postgres -D DIR`). */
function pgdata(ctx: CheckContext): string {
  const cmd = serverContainerOf(workloadOf(ctx.manifests, "database")).command ?? [];
  const dir = cmd[cmd.indexOf("-D") + 1];
  if (!cmd.includes("-D") || dir === undefined) throw new CheckError(`the database's server command sets no -D: ${JSON.stringify(cmd)}`);
  return dir;
}
