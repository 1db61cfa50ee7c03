/**
 * What every check of `npm run pods` works with: the running cluster, the rendered manifests it runs,
 * and small helpers that go through the pods themselves (`kubectl exec`-style), never around them.
 */
import type { Cluster, PodInfo } from "../cluster.ts";
import { PoolingError } from "../../lib/errors.ts";
import { waitFor } from "../../lib/wait.ts";
import { parseIni, parsePostgresqlConf } from "../../lib/ini.ts";
import { find, secretValue, type Manifest } from "../stack.ts";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface CheckContext {
  cluster: Cluster;
  manifests: ReadonlyArray<{ file: string; object: Manifest }>;
  /** Renders the stack file with some values changed and returns the new manifests (reload, rollout). */
  rerender: (values: Record<string, string | number>) => Promise<ReadonlyArray<{ file: string; object: Manifest }>>;
  log: (line: string) => void;
  /** Shorter load phases for the form that runs in `npm test`. */
  short: boolean;
}

/** A check of `npm run pods` found the cluster not as the manifests say it should be. */
export class CheckError extends PoolingError {
  readonly code = "POOLING_PODS_CHECK";
}

export const podsOf = (ctx: CheckContext, workload: string): PodInfo[] => ctx.cluster.pods().filter((p) => p.workload === workload && !p.terminating);

export function onePod(ctx: CheckContext, workload: string): PodInfo {
  const pod = podsOf(ctx, workload)[0];
  if (!pod) throw new CheckError(`no running pod of ${workload}`);
  return pod;
}

const factsCache = new WeakMap<CheckContext["manifests"], StackFacts>();
export type StackFacts = ReturnType<typeof readStackFacts>;

/**
 * The numbers the checks hold the stack to, read back from the rendered files as the policy pack does;
 * read once per set of manifests (the rollout sampler asks on every sample).
 */
export function stackFacts(ctx: CheckContext): StackFacts {
  let facts = factsCache.get(ctx.manifests);
  if (!facts) {
    facts = readStackFacts(ctx);
    factsCache.set(ctx.manifests, facts);
  }
  return facts;
}

function readStackFacts(ctx: CheckContext) {
  const pgConf = parsePostgresqlConf(find(ctx.manifests, "ConfigMap", "postgres-config").data!["postgresql.conf"]!);
  const ini = parseIni(find(ctx.manifests, "ConfigMap", "pgbouncer-config").data!["pgbouncer.ini"]!).pgbouncer ?? {};
  const deployment = find(ctx.manifests, "Deployment", "pgbouncer");
  const pgSecret = find(ctx.manifests, "Secret", "postgres-secret");
  const pgStatefulSet = find(ctx.manifests, "StatefulSet", "postgres");
  const postgresContainer = pgStatefulSet.spec.template.spec.containers.find((c: { name: string }) => c.name === "postgres");
  const port = Number(postgresContainer.ports[0].containerPort);
  const exporterEnv: Array<{ name: string; value?: string }> = pgStatefulSet.spec.template.spec.containers.find((c: { name: string }) => c.name === "postgres-exporter").env;
  const user = exporterEnv.find((e) => e.name === "DATA_SOURCE_USER")!.value!;
  const database = /\/([^/?]+)(\?|$)/.exec(exporterEnv.find((e) => e.name === "DATA_SOURCE_URI")!.value!)![1]!;
  return {
    maxConnections: Number(pgConf.max_connections),
    superuserReserved: Number(pgConf.superuser_reserved_connections),
    perPgbouncerPod: Number(ini.default_pool_size) + Number(ini.reserve_pool_size ?? 0),
    defaultPoolSize: Number(ini.default_pool_size),
    pgbouncerReplicas: Number(deployment.spec.replicas),
    pgbouncerMaxSurge: Number(deployment.spec.strategy?.rollingUpdate?.maxSurge ?? 0),
    pgbouncerPort: Number(ini.listen_port),
    postgres: { port, user, database, password: secretValue(pgSecret, "app-password") },
  };
}

/** One SQL statement in the PostgreSQL pod, as the app role over the pod's loopback; rows as text lines. */
export async function sql(ctx: CheckContext, statement: string): Promise<string[]> {
  const pg = stackFacts(ctx).postgres;
  const pod = onePod(ctx, "postgres");
  const argv = ["env", `PGPASSWORD=${pg.password}`, "psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.user, "-d", pg.database, "-c", statement];
  const r = await ctx.cluster.exec(pod.name, "postgres", argv, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new CheckError(`psql in ${pod.name} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout.split("\n").filter((l) => l !== "");
}

/** Polls `probe` until it returns a value or the deadline passes (lib/wait.ts); no fixed sleeps stand in for an event. */
export const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 250): Promise<T> => waitFor(what, probe, timeoutMs, everyMs);

/** The probe app's pods, by their own address and the port their manifest declares. */
export function probeUrls(ctx: CheckContext): string[] {
  const port = Number(find(ctx.manifests, "Deployment", "app-probe").spec.template.spec.containers[0].ports[0].containerPort);
  return podsOf(ctx, "app-probe")
    .filter((p) => p.ready)
    .map((p) => `http://${p.ip}:${port}`);
}
