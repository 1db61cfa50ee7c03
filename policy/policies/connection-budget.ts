/**
 * Policy 5: PgBouncer's pools fit PostgreSQL's max_connections, at every moment of a rollout. Each
 * PgBouncer pod opens its own server connections, and a rolling update runs up to `maxSurge` new pods
 * above replicas while the pods a step has just scaled down (up to maxSurge + maxUnavailable) still hold
 * theirs and drain: the deployment controller does not count terminating pods. So (replicas + 2 × surge
 * + unavailable) × per-pod connections must stay within what PostgreSQL lets non-superusers open; past it, logins fail with "too many clients" under
 * exactly the load the pools exist for. The stack config refuses such a config already
 * (`connectionBudget`); this checks the rendered objects, so it also catches a hand-edited manifest or
 * another program deploying the same charts. It checks the hard limit only: the stack's
 * `headroomConnections` is a project choice not visible in the manifests.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { intSetting, parseConnectionOptions, parseIni, parsePostgresqlConf } from "../../lib/ini.ts";
import { rolloutSurge, type RolloutSurge } from "../../lib/kubernetes.ts";

export { rolloutSurge, type RolloutSurge };
import { FILES, ROLES } from "../../infra/render/names.ts";
import { COMPONENT_LABEL, CONFIG_MAP_TYPE, DEPLOYMENT_TYPE, configMapData, isRecord, metadataOf, podSpecOf } from "./k8s.ts";

/** The roles the builders give PgBouncer and PostgreSQL, and their files' names: the render output's (infra/render/names.ts). */
export const POOLER_COMPONENT = ROLES.pgbouncer;
export const DATABASE_COMPONENT = ROLES.postgres;
export const PGBOUNCER_INI = FILES.pgbouncerIni;
export const POSTGRESQL_CONF = FILES.postgresqlConf;

/** PgBouncer's and PostgreSQL's own defaults, for settings a file leaves out. */
const PGBOUNCER_DEFAULTS = { default_pool_size: 20, reserve_pool_size: 0, max_db_connections: 0 };
const POSTGRES_DEFAULTS = { max_connections: 100, superuser_reserved_connections: 3, reserved_connections: 0 };

export interface PoolerConnections {
  /** Server connections one PgBouncer pod may open, over all its databases. */
  perPod: number;
  /** How each database's share was found, for the message. */
  detail: string[];
}

/**
 * Per database: max_db_connections when set (it caps every user's pools together), otherwise
 * pool size + reserve pool (one pool per user and database; with one application user that is the
 * database's share). Per-database `pool_size`, `reserve_pool` and `max_db_connections` override the globals.
 */
export function poolerConnections(ini: string): PoolerConnections {
  const sections = parseIni(ini);
  const g = sections.pgbouncer ?? {};
  const defaultPool = intSetting(g.default_pool_size) ?? PGBOUNCER_DEFAULTS.default_pool_size;
  const reservePool = intSetting(g.reserve_pool_size) ?? PGBOUNCER_DEFAULTS.reserve_pool_size;
  const maxDb = intSetting(g.max_db_connections) ?? PGBOUNCER_DEFAULTS.max_db_connections;
  const detail: string[] = [];
  let perPod = 0;
  for (const [db, conn] of Object.entries(sections.databases ?? {})) {
    const o = parseConnectionOptions(conn);
    const cap = intSetting(o.max_db_connections) ?? maxDb;
    const pool = intSetting(o.pool_size) ?? defaultPool;
    const reserve = intSetting(o.reserve_pool ?? o.reserve_pool_size) ?? reservePool;
    const n = cap > 0 ? cap : pool + reserve;
    detail.push(cap > 0 ? `${db}: max_db_connections ${cap}` : `${db}: pool size ${pool} + reserve pool ${reserve}`);
    perPod += n;
  }
  return { perPod, detail };
}

export interface PostgresConnections {
  maxConnections: number;
  /** Connections only superusers (and pg_use_reserved_connections members) may take. */
  reserved: number;
  usable: number;
  detail: string;
}

export function postgresConnections(conf: string): PostgresConnections {
  const s = parsePostgresqlConf(conf);
  const maxConnections = intSetting(s.max_connections) ?? POSTGRES_DEFAULTS.max_connections;
  const superuser = intSetting(s.superuser_reserved_connections) ?? POSTGRES_DEFAULTS.superuser_reserved_connections;
  const other = intSetting(s.reserved_connections) ?? POSTGRES_DEFAULTS.reserved_connections;
  const reserved = superuser + other;
  const detail =
    `max_connections ${maxConnections} − superuser_reserved_connections ${superuser}` + (other > 0 ? ` − reserved_connections ${other}` : "") + ` = ${maxConnections - reserved}`;
  return { maxConnections, reserved, usable: maxConnections - reserved, detail };
}

export interface BudgetInputs {
  deployment: PolicyResource;
  replicas: number;
  surge: RolloutSurge;
  ini: { name: string; text: string };
  postgres: { name: string; text: string };
}

/** The violation message, or undefined when the pools fit during a rollout. */
export function budgetProblem(inputs: Omit<BudgetInputs, "deployment"> & { deploymentName: string }): string | undefined {
  const pooler = poolerConnections(inputs.ini.text);
  const pg = postgresConnections(inputs.postgres.text);
  const { replicas, surge } = inputs;
  const need = (replicas + surge.pods) * pooler.perPod;
  if (need <= pg.usable) return undefined;
  const atRest = replicas * pooler.perPod;
  const pods = surge.pods > 0 ? `(${replicas} replicas + ${surge.pods} during a rollout: ${surge.detail})` : `${replicas} replicas (${surge.detail})`;
  const when =
    surge.pods > 0 && atRest <= pg.usable
      ? ` It fits at rest (${replicas} × ${pooler.perPod} = ${atRest}), but not while a rollout runs new pods next to the old ones still draining.`
      : "";
  return (
    `PgBouncer Deployment "${inputs.deploymentName}" may open ${pods} × ${pooler.perPod} server connections ` +
    `(${pooler.detail.join("; ")}; ConfigMap "${inputs.ini.name}") = ${need}, more than PostgreSQL accepts: ${pg.detail} ` +
    `(ConfigMap "${inputs.postgres.name}").${when} Lower pooling:pgbouncer.defaultPoolSize, pooling:pgbouncer.reservePoolSize or ` +
    `pooling:pgbouncer.replicas, or raise pooling:postgres.maxConnections to at least ${need + pg.reserved}.`
  );
}

const componentOf = (r: PolicyResource) => metadataOf(r.props).labels[COMPONENT_LABEL];
const namespaceOf = (r: PolicyResource) => metadataOf(r.props).namespace ?? "";
const nameOf = (r: PolicyResource) => metadataOf(r.props).name ?? r.name;

/**
 * The ConfigMap holding `file` in the deployment's namespace: the one the pod mounts when its name is
 * known, else the only one there is (with the component label breaking a tie).
 */
function configMapWith(resources: PolicyResource[], file: string, namespace: string, mounted: string[], component: string) {
  const candidates = resources.filter((r) => r.type === CONFIG_MAP_TYPE && namespaceOf(r) === namespace && file in configMapData(r.props));
  const pick =
    candidates.find((r) => mounted.includes(nameOf(r))) ??
    (candidates.length === 1 ? candidates[0] : candidates.find((r) => componentOf(r) === component));
  return pick ? { name: nameOf(pick), text: configMapData(pick.props)[file] ?? "" } : undefined;
}

/**
 * Each PgBouncer Deployment with its rollout surge, its pgbouncer.ini and its namespace's postgresql.conf;
 * the reason when a file is missing; the Deployments whose strategy cannot be counted.
 */
export function findBudgetInputs(resources: PolicyResource[]): {
  found: BudgetInputs[];
  missing: string[];
  unreadable: Array<{ deployment: PolicyResource; reason: string }>;
} {
  const found: BudgetInputs[] = [];
  const missing: string[] = [];
  const unreadable: Array<{ deployment: PolicyResource; reason: string }> = [];
  for (const deployment of resources.filter((r) => r.type === DEPLOYMENT_TYPE && componentOf(r) === POOLER_COMPONENT)) {
    const ns = namespaceOf(deployment);
    const volumes = podSpecOf(deployment.type, deployment.props)?.volumes ?? [];
    const mounted = volumes.flatMap((v) => (isRecord(v.configMap) && typeof v.configMap.name === "string" ? [v.configMap.name] : []));
    const ini = configMapWith(resources, PGBOUNCER_INI, ns, mounted, POOLER_COMPONENT);
    const postgres = configMapWith(resources, POSTGRESQL_CONF, ns, [], DATABASE_COMPONENT);
    const spec = deployment.props.spec;
    const replicas = isRecord(spec) && typeof spec.replicas === "number" ? spec.replicas : 1;
    const surge = rolloutSurge(spec, replicas);
    if ("error" in surge) unreadable.push({ deployment, reason: surge.error });
    else if (ini && postgres) found.push({ deployment, replicas, surge, ini, postgres });
    else missing.push(`Deployment "${nameOf(deployment)}" has no ConfigMap with ${ini ? POSTGRESQL_CONF : PGBOUNCER_INI} in namespace "${ns}" in this stack`);
  }
  return { found, missing, unreadable };
}

export const connectionBudgetFits: StackValidationPolicy = {
  name: "pgbouncer-pools-fit-max-connections",
  description:
    "PgBouncer (replicas + pods a rollout adds: 2 × maxSurge + maxUnavailable) × per-pod server connections (default_pool_size + reserve_pool_size, or max_db_connections) ≤ PostgreSQL max_connections − superuser_reserved_connections.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const { found, missing, unreadable } = findBudgetInputs(args.resources);
    if (found.length === 0 && unreadable.length === 0) {
      args.notApplicable(missing.length > 0 ? missing.join("; ") : `no PgBouncer Deployment (label ${COMPONENT_LABEL}=${POOLER_COMPONENT}) in this stack`);
    }
    for (const { deployment, reason } of unreadable) {
      reportViolation(`PgBouncer Deployment "${nameOf(deployment)}": ${reason}, so the pods a rollout runs cannot be counted against max_connections.`, deployment.urn);
    }
    for (const { deployment, ...inputs } of found) {
      const problem = budgetProblem({ ...inputs, deploymentName: nameOf(deployment) });
      if (problem) reportViolation(problem, deployment.urn);
    }
  },
};
