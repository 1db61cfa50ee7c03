/**
 * What every check of `npm run pods` works with: the running cluster, the rendered manifests it runs,
 * and small helpers that go through the pods themselves (`kubectl exec`-style), never around them.
 */
import type { Cluster, PodInfo } from "../cluster.ts";
import { PoolingError } from "../../lib/errors.ts";
import { waitFor } from "../../lib/wait.ts";
import { parseIni, parsePostgresqlConf } from "../../lib/ini.ts";
import { rolloutSurge } from "../../lib/kubernetes.ts";
import { PROBE_ENV } from "../../app-probe/src/env.ts";
import { FILES, TLS_KEYS } from "../../infra/render/names.ts";
import { ofKind, type Workload } from "../k8s.ts";
import type { LoadedManifest } from "../manifests.ts";
import { byRole, configFile, dataValue, podSpecOf, serverContainerOf, workloadOf, type Role } from "../stack.ts";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface CheckContext {
  cluster: Cluster;
  manifests: readonly LoadedManifest[];
  /** Renders the stack file with some values changed and returns the new manifests (reload, rollout). */
  rerender: (values: Record<string, string | number>) => Promise<readonly LoadedManifest[]>;
  log: (line: string) => void;
  /** Shorter load phases for the form that runs in `npm test`. */
  short: boolean;
}

/** A check of `npm run pods` found the cluster not as the manifests say it should be. */
export class CheckError extends PoolingError {
  readonly code = "POOLING_PODS_CHECK";
}

/** The pods of the workload that plays `role`, not terminating. */
export function podsOf(ctx: CheckContext, role: Role): PodInfo[] {
  const workload = workloadOf(ctx.manifests, role).metadata.name;
  return ctx.cluster.pods().filter((p) => p.workload === workload && !p.terminating);
}

export function onePod(ctx: CheckContext, role: Role): PodInfo {
  const pod = podsOf(ctx, role)[0];
  if (!pod) throw new CheckError(`no running pod of the ${role} (${workloadOf(ctx.manifests, role).metadata.name})`);
  return pod;
}

/** The name of the container that runs the role's server: the workload's first container (sidecars follow it). */
export const serverContainer = (ctx: CheckContext, role: Role): string => serverContainerOf(workloadOf(ctx.manifests, role)).name;

/** A container's env var as the kubelet would set it: a literal, or the key of the Secret or ConfigMap it references. */
function envValue(manifests: CheckContext["manifests"], workload: Workload, name: string): string {
  const objects = manifests.map((m) => m.object);
  for (const c of podSpecOf(workload).containers) {
    const v = c.env?.find((e) => e.name === name);
    if (!v) continue;
    if (v.value !== undefined) return v.value;
    const { secretKeyRef, configMapKeyRef } = v.valueFrom ?? {};
    const ref = secretKeyRef ?? configMapKeyRef;
    const source = secretKeyRef ? ofKind(objects, "Secret").find((o) => o.metadata.name === secretKeyRef.name) : ofKind(objects, "ConfigMap").find((o) => o.metadata.name === configMapKeyRef?.name);
    if (ref && source) return dataValue(source, ref.key);
  }
  throw new CheckError(`${workload.kind} ${workload.metadata.name} sets no ${name} the checks can read`);
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

/**
 * Every fact is found by what holds it: the database's and the pooler's config files by their role
 * label and file name, the app role's credentials by the probe's own env contract (PROBE_ENV), and the
 * pooler's surge as Kubernetes computes it (25% when maxSurge is absent, as the policy pack reads it).
 */
function readStackFacts(ctx: CheckContext) {
  const pgConf = parsePostgresqlConf(configFile(ctx.manifests, "database", FILES.postgresqlConf));
  const ini = parseIni(configFile(ctx.manifests, "pooler", FILES.pgbouncerIni)).pgbouncer ?? {};
  const deployment = byRole(ctx.manifests, "Deployment", "pooler");
  // The API's default for an absent replicas (apps/v1 DeploymentSpec).
  const replicas = deployment.spec?.replicas ?? 1;
  const surge = rolloutSurge(deployment.spec, replicas);
  if ("error" in surge) throw new CheckError(`the pooler's Deployment: ${surge.error}`);
  // The app role, as the probe connects (to PgBouncer, with the same role and password PostgreSQL has).
  const app = new URL(envValue(ctx.manifests, workloadOf(ctx.manifests, "probe"), PROBE_ENV.databaseUrl));
  return {
    maxConnections: Number(pgConf.max_connections),
    superuserReserved: Number(pgConf.superuser_reserved_connections),
    perPgbouncerPod: Number(ini.default_pool_size) + Number(ini.reserve_pool_size ?? 0),
    defaultPoolSize: Number(ini.default_pool_size),
    pgbouncerReplicas: replicas,
    /** Pods above replicas that hold server connections at a rollout's peak: surging and draining (lib/kubernetes.ts). */
    pgbouncerRolloutExtraPods: surge.pods,
    pgbouncerPort: Number(ini.listen_port),
    // PostgreSQL's own default port when postgresql.conf does not set one.
    postgres: { port: Number(pgConf.port ?? 5432), user: decodeURIComponent(app.username), database: decodeURIComponent(app.pathname.slice(1)), password: decodeURIComponent(app.password) },
  };
}

/** One SQL statement in the PostgreSQL pod, as the app role over the pod's loopback; rows as text lines. */
export async function sql(ctx: CheckContext, statement: string): Promise<string[]> {
  const pg = stackFacts(ctx).postgres;
  const pod = onePod(ctx, "database");
  const argv = ["env", `PGPASSWORD=${pg.password}`, "psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.user, "-d", pg.database, "-c", statement];
  const r = await ctx.cluster.exec(pod.name, serverContainer(ctx, "database"), argv, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new CheckError(`psql in ${pod.name} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout.split("\n").filter((l) => l !== "");
}

/** Polls `probe` until it returns a value or the deadline passes (lib/wait.ts); no fixed sleeps stand in for an event. */
export const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 250): Promise<T> => waitFor(what, probe, timeoutMs, everyMs);

/**
 * redis-cli as the checks run it inside the Redis container, on the port and with the TLS settings the
 * rendered redis.conf gives the server: with `tls-port`, TLS verified against its `tls-ca-cert-file`
 * (and the client pair when `tls-auth-clients yes`). The password comes from REDISCLI_AUTH in its env.
 */
export function redisCli(ctx: CheckContext): string[] {
  const conf = configFile(ctx.manifests, "cache", FILES.redisConf);
  const value = (key: string) => new RegExp(`^${key}\\s+(\\S+)`, "m").exec(conf)?.[1];
  const tlsPort = value("tls-port");
  if (tlsPort === undefined) return ["redis-cli", "-h", "127.0.0.1", "-p", value("port") ?? "6379"];
  const dir = value("tls-ca-cert-file")!.replace(/\/[^/]+$/, "");
  // The client pair sits beside the CA in the server's TLS mount, under the TLS Secret's keys.
  const pair = value("tls-auth-clients") === "yes" ? ["--cert", `${dir}/${TLS_KEYS.clientCert}`, "--key", `${dir}/${TLS_KEYS.clientKey}`] : [];
  return ["redis-cli", "--tls", "--cacert", value("tls-ca-cert-file")!, ...pair, "-h", "127.0.0.1", "-p", tlsPort];
}

/** The probe app's pods, by their own address and the port their manifest declares. */
export function probeUrls(ctx: CheckContext): string[] {
  const port = Number(envValue(ctx.manifests, workloadOf(ctx.manifests, "probe"), PROBE_ENV.port));
  return podsOf(ctx, "probe")
    .filter((p) => p.ready)
    .map((p) => `http://${p.ip}:${port}`);
}

