/**
 * Checks of change and shutdown: a pool size reloaded without a restart, a PgBouncer rollout inside the
 * connection budget, NetworkPolicies that cut off who they should, and every container ending within
 * its grace period.
 */
import { connect } from "node:net";
import { FILES, PGBOUNCER_ADMIN_DATABASE } from "../../infra/render/names.ts";
import { parseConnectionOptions, parseIni } from "../../lib/ini.ts";
import { byRole, configFile, configMapHolding } from "../stack.ts";
import { runnableTemplate } from "../workloads.ts";
import type { PodInfo } from "../cluster.ts";
import { CheckError, podsOf, serverContainer, sql, stackFacts, until, type CheckContext, type CheckResult } from "./context.ts";
import { PodLoad, loadSummary, lostWrites } from "./load.ts";

/** PgBouncer's own view of a setting, from its admin console inside the pod (PGPASSWORD is in its env). */
async function showConfig(ctx: CheckContext, pod: string, key: string): Promise<string | undefined> {
  const ini = parseIni(configFile(ctx.manifests, "pooler", FILES.pgbouncerIni)).pgbouncer ?? {};
  const argv = ["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", ini.listen_port!, "-U", ini.admin_users!.split(",")[0]!.trim(), "-d", PGBOUNCER_ADMIN_DATABASE, "-c", "SHOW CONFIG"];
  const r = await ctx.cluster.exec(pod, serverContainer(ctx, "pooler"), argv, { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`SHOW CONFIG in ${pod}: ${r.stderr.trim()}`);
  return r.stdout.split("\n").find((l) => l.startsWith(`${key}|`))?.split("|")[1];
}

const serverPid = (ctx: CheckContext, p: PodInfo) => p.containers.find((c) => c.name === serverContainer(ctx, "pooler"))?.pid;
const restarts = (p: PodInfo) => p.containers.reduce((n, c) => n + c.restarts, 0);

/** A defaultPoolSize edit re-rendered into the ConfigMap reaches every PgBouncer through the reloader. */
export async function reloadWithoutRestart(ctx: CheckContext): Promise<CheckResult> {
  const name = "reload-without-restart";
  const facts = stackFacts(ctx);
  // A value that differs and is at least 1: 5 fewer where that leaves a pool, else one more (a pool derived
  // from a small PostgreSQL can be as small as 2, where one more still fits the budget).
  const wanted = facts.defaultPoolSize > 5 ? facts.defaultPoolSize - 5 : facts.defaultPoolSize + 1;
  const before = podsOf(ctx, "pooler").map((p) => ({ name: p.name, pid: serverPid(ctx, p), restarts: restarts(p) }));
  const next = await ctx.rerender({ "pgbouncer.defaultPoolSize": wanted });
  const started = Date.now();
  await ctx.cluster.applyConfigMap(configMapHolding(next, "pooler", FILES.pgbouncerIni));
  for (const p of before) await until(`${p.name} to report default_pool_size ${wanted}`, 60_000, async () => ((await showConfig(ctx, p.name, "default_pool_size")) === String(wanted) ? true : undefined), 500);
  const seconds = (Date.now() - started) / 1000;
  const after = new Map(podsOf(ctx, "pooler").map((p) => [p.name, p]));
  const same = before.every((b) => after.get(b.name) && serverPid(ctx, after.get(b.name)!) === b.pid && restarts(after.get(b.name)!) === b.restarts);
  return {
    name,
    ok: same,
    detail: `default_pool_size ${facts.defaultPoolSize} → ${wanted} in SHOW CONFIG of ${before.map((b) => b.name).join(", ")} within ${seconds.toFixed(1)} s; ${same ? "same PgBouncer pids, no restart" : "a pod was restarted or replaced"}`,
  };
}

/** A PgBouncer rollout under load: PostgreSQL's client backends stay inside the budget at every sample. */
export async function rolloutBudget(ctx: CheckContext): Promise<CheckResult> {
  const name = "rollout-budget";
  const facts = stackFacts(ctx);
  const limit = facts.maxConnections - facts.superuserReserved;
  const budget = (facts.pgbouncerReplicas + facts.pgbouncerRolloutExtraPods) * facts.perPgbouncerPod;
  const load = new PodLoad(ctx, ctx.short ? 16 : 48, "rollout");
  let stop = false;
  const peak = { all: 0, pooled: 0, samples: 0 };
  const sampler = (async () => {
    while (!stop) {
      const [row] = await sql(
        ctx,
        "SELECT count(*), count(*) FILTER (WHERE client_addr IS DISTINCT FROM '127.0.0.1') FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
      ).catch(() => [undefined]);
      if (row) {
        const [all, pooled] = row.split("|").map(Number) as [number, number];
        peak.all = Math.max(peak.all, all);
        peak.pooled = Math.max(peak.pooled, pooled);
        peak.samples++;
      }
    }
  })();
  try {
    await load.flowing(50);
    const deployment = byRole(ctx.manifests, "Deployment", "pooler");
    const template = runnableTemplate(deployment);
    template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, "pooling.dev/pods-rollout": String(Date.now()) } };
    await ctx.cluster.rollout(deployment.metadata.name, template);
    await load.flowing(20);
  } finally {
    stop = true;
    await sampler;
    await load.stop();
  }
  const lost = await lostWrites(ctx, load.acks);
  const ok = peak.samples > 0 && peak.all <= limit && peak.pooled <= budget && lost.postgres === 0;
  return {
    name,
    ok,
    detail:
      `peak client backends ${peak.all} ≤ maxConnections − reserved = ${limit}; from PgBouncer ${peak.pooled} ≤ (replicas ${facts.pgbouncerReplicas} + ${facts.pgbouncerRolloutExtraPods} surging or draining) × ${facts.perPgbouncerPod} = ${budget}` +
      ` (${peak.samples} samples); ${loadSummary(load)}; lost writes ${lost.postgres}`,
  };
}

/** Connects from the node (this process) to a pod address; resolves whether it was accepted. */
function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** The rendered NetworkPolicies hold: PgBouncer reaches PostgreSQL, the node does not reach either port. */
export async function networkPoliciesEnforced(ctx: CheckContext): Promise<CheckResult> {
  const name = "network-policies-enforced";
  const facts = stackFacts(ctx);
  const postgres = podsOf(ctx, "database")[0]!;
  const pgbouncer = podsOf(ctx, "pooler")[0]!;
  const nodeToPostgres = await tcpOpen(postgres.ip, facts.postgres.port, 2000);
  const nodeToPgbouncer = await tcpOpen(pgbouncer.ip, facts.pgbouncerPort, 2000);
  // The database host PgBouncer's [databases] entries name (a Service DNS name).
  const databases = parseIni(configFile(ctx.manifests, "pooler", FILES.pgbouncerIni)).databases ?? {};
  const host = Object.values(databases).map((d) => parseConnectionOptions(d).host).find((h) => h !== undefined);
  if (host === undefined) throw new CheckError("pgbouncer.ini names no database host");
  const fromPgbouncer = await ctx.cluster.exec(pgbouncer.name, serverContainer(ctx, "pooler"), ["pg_isready", "-h", host, "-p", String(facts.postgres.port), "-t", "5"], { timeoutMs: 15_000 });
  const ok = !nodeToPostgres && !nodeToPgbouncer && fromPgbouncer.code === 0;
  return {
    name,
    ok,
    detail:
      `node → postgres:${facts.postgres.port} ${nodeToPostgres ? "accepted" : "blocked"}; node → pgbouncer:${facts.pgbouncerPort} ${nodeToPgbouncer ? "accepted" : "blocked"} ` +
      `(a kubelet tcpSocket probe there would fail the same way); pgbouncer → ${host}:${facts.postgres.port} ${fromPgbouncer.code === 0 ? "accepted" : `refused (${fromPgbouncer.stdout.trim()})`}`,
  };
}

/** Every container of every pod that ended exited by itself within its pod's grace period. */
export function terminateWithinGrace(ended: readonly PodInfo[]): CheckResult {
  const late = ended.flatMap((p) =>
    // Init containers ended before the pod was asked to stop; only what ran then is judged.
    p.containers.filter((c) => !c.init && c.standIn !== null && (c.killed || c.exitSeconds === undefined || c.exitSeconds > p.graceSeconds)).map((c) => `${p.name}/${c.name} (${c.killed ? "SIGKILL" : `${c.exitSeconds} s`})`),
  );
  const slowest = Math.max(0, ...ended.flatMap((p) => p.containers.filter((c) => !c.init).map((c) => c.exitSeconds ?? 0)));
  return {
    name: "terminate-within-grace",
    ok: ended.length > 0 && late.length === 0,
    detail: late.length > 0 ? `killed or late: ${late.join(", ")}` : `${ended.length} pod terminations, every container exited by itself; slowest ${slowest.toFixed(1)} s`,
  };
}
