/**
 * Prometheus alerting rules from the validated stack config. Every threshold is a value of the resolved
 * config (derived pool sizes included), so `pulumi config set --path pgbouncer.defaultPoolSize 40` moves
 * the saturation alert with the pool; `pooling:monitoring.*` only says how close is close and how long is
 * long. Each alert's summary names the stack key that fixes it in its full dotted form.
 *
 * Every figure is aggregated `by` named labels, so an alert's labels are known in advance: the promtool
 * tests (test/unit/alerts-promtool.test.ts) and the dashboard (dashboard.ts) read the same specs.
 */
import { stringify } from "yaml";
import { connectionBudget, formatDuration, type StackConfig } from "../config/index.ts";
import { PGBOUNCER_METRICS, POSTGRES_METRICS, PROBE_METRICS, REDIS_METRICS, type PgbouncerFigures } from "./metrics.ts";

export type { PgbouncerFigures } from "./metrics.ts";

const key = (path: string) => `pooling:${path}`;

/** A sample series: metric name, labels, value. */
export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface AlertSpec {
  alert: string;
  severity: "warning" | "critical";
  /** PromQL of the figure compared with the threshold; also the dashboard panel's query. */
  figure: string;
  op: ">" | ">=" | "==";
  threshold: number;
  /** Milliseconds the condition must hold. */
  forMs: number;
  /** The labels the figure keeps (its `by` clause): an alert's labels are these and severity. */
  by: readonly string[];
  /** The stack key whose value this alert is about, in full dotted form. */
  key: string;
  summary: string;
  description: string;
  unit: "connections" | "seconds" | "boolean";
  /**
   * Series that make the figure equal `value` for the given values of the `by` labels: the promtool
   * tests feed them to the real rule, one step each side of the threshold.
   */
  series(value: number, labels: Record<string, string>): Series[];
}

/** Where the rules run: which PgBouncer figures Prometheus has (metrics.ts). */
export interface AlertOptions {
  pgbouncerFigures: PgbouncerFigures;
}

/** A label selector in PromQL: `{namespace="pooling",database="app"}`. */
function selector(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(",")}}`;
}

const seconds = (ms: number) => ms / 1000;

/** The largest whole count that does not yet exceed `share` of a limit: the alert fires above it. */
export const shareOf = (limit: number, share: number) => Math.floor(limit * share);

function pgbouncerAlerts(cfg: StackConfig, opts: AlertOptions): AlertSpec[] {
  const m = PGBOUNCER_METRICS[opts.pgbouncerFigures];
  const mon = cfg.monitoring;
  const pb = cfg.pgbouncer;
  const ns = { namespace: cfg.namespace };
  const pool = { ...ns, database: cfg.postgres.database };
  const poolBy = ["namespace", "instance", "database", "user"] as const;
  const inPool = (name: string, value: number, l: Record<string, string>): Series[] => [{ name, labels: { ...l }, value }];
  const byPool = (metric: string) => `max by (${poolBy.join(", ")}) (${metric}${selector(pool)})`;
  const waitShare = shareOf(seconds(pb.queryWaitTimeout), mon.limitShare);
  const alerts: AlertSpec[] = [
    {
      alert: "PgBouncerClientsWaiting",
      severity: "warning",
      figure: byPool(m.maxwaitSeconds),
      op: ">",
      threshold: seconds(mon.clientWait),
      forMs: mon.for,
      by: poolBy,
      key: key("pgbouncer.defaultPoolSize"),
      summary: `Clients wait over ${formatDuration(mon.clientWait)} for a server connection in PgBouncer {{ $labels.instance }}: raise ${key("pgbouncer.defaultPoolSize")} (now ${pb.defaultPoolSize}).`,
      description: `The oldest waiting client has waited {{ $value }} s, more than ${key("monitoring.clientWait")} (${formatDuration(mon.clientWait)}), for ${formatDuration(mon.for)} (${key("monitoring.for")}).`,
      unit: "seconds",
      series: (v, l) => inPool(m.maxwaitSeconds, v, l),
    },
    {
      alert: "PgBouncerPoolSaturated",
      severity: "warning",
      figure: byPool(m.serversActive),
      op: ">=",
      threshold: pb.defaultPoolSize,
      forMs: mon.saturationFor,
      by: poolBy,
      key: key("pgbouncer.defaultPoolSize"),
      summary: `PgBouncer {{ $labels.instance }} has every server connection of its pool in use: raise ${key("pgbouncer.defaultPoolSize")} (now ${pb.defaultPoolSize}).`,
      description: `{{ $value }} server connections active, at least ${key("pgbouncer.defaultPoolSize")} ${pb.defaultPoolSize}, for ${formatDuration(mon.saturationFor)} (${key("monitoring.saturationFor")}); the reserve pool (${pb.reservePoolSize}) is what is left.`,
      unit: "connections",
      series: (v, l) => inPool(m.serversActive, v, l),
    },
    {
      alert: "PgBouncerClientConnectionsHigh",
      severity: "warning",
      figure: `sum by (namespace, instance) (${m.clientsActive}${selector(ns)}) + sum by (namespace, instance) (${m.clientsWaiting}${selector(ns)})`,
      op: ">",
      threshold: shareOf(pb.maxClientConn, mon.limitShare),
      forMs: mon.for,
      by: ["namespace", "instance"],
      key: key("pgbouncer.maxClientConn"),
      summary: `PgBouncer {{ $labels.instance }} holds over ${mon.limitShare * 100}% of its client connections: raise ${key("pgbouncer.maxClientConn")} (now ${pb.maxClientConn}).`,
      description: `{{ $value }} client connections, more than ${shareOf(pb.maxClientConn, mon.limitShare)} = ${key("monitoring.limitShare")} ${mon.limitShare} × max_client_conn ${pb.maxClientConn}; past max_client_conn new clients are refused.`,
      unit: "connections",
      series: (v, l) => [
        { name: m.clientsActive, labels: { ...l, database: cfg.postgres.database, user: cfg.postgres.user }, value: v },
        { name: m.clientsWaiting, labels: { ...l, database: cfg.postgres.database, user: cfg.postgres.user }, value: 0 },
      ],
    },
  ];
  if (pb.queryWaitTimeout > 0) {
    alerts.push({
      alert: "PgBouncerWaitNearTimeout",
      severity: "critical",
      figure: byPool(m.maxwaitSeconds),
      op: ">",
      threshold: waitShare,
      // The figure is itself a duration: waiting longer to alert would let clients be disconnected first.
      forMs: 0,
      by: poolBy,
      key: key("pgbouncer.queryWaitTimeout"),
      summary: `A client of PgBouncer {{ $labels.instance }} has waited close to ${key("pgbouncer.queryWaitTimeout")} (${formatDuration(pb.queryWaitTimeout)}) and will be disconnected: raise it or ${key("pgbouncer.defaultPoolSize")} (now ${pb.defaultPoolSize}).`,
      description: `The oldest waiting client has waited {{ $value }} s, more than ${waitShare} s = ${key("monitoring.limitShare")} ${mon.limitShare} × query_wait_timeout ${seconds(pb.queryWaitTimeout)} s.`,
      unit: "seconds",
      series: (v, l) => inPool(m.maxwaitSeconds, v, l),
    });
  }
  return alerts;
}

/** A warning when one server instance's summed connections pass a share of a limit the config sets. */
function nearLimit(
  cfg: StackConfig,
  a: Pick<AlertSpec, "alert" | "key" | "summary" | "description" | "threshold"> & { metric: string; extra: Record<string, string> },
): AlertSpec {
  return {
    alert: a.alert,
    severity: "warning",
    figure: `sum by (namespace, instance) (${a.metric}${selector({ namespace: cfg.namespace })})`,
    op: ">",
    threshold: a.threshold,
    forMs: cfg.monitoring.for,
    by: ["namespace", "instance"],
    key: a.key,
    summary: a.summary,
    description: a.description,
    unit: "connections",
    series: (v, l) => [{ name: a.metric, labels: { ...l, ...a.extra }, value: v }],
  };
}

function serverAlerts(cfg: StackConfig): AlertSpec[] {
  const mon = cfg.monitoring;
  const pg = cfg.postgres;
  const budget = connectionBudget(cfg).usable;
  const budgetShare = shareOf(budget, mon.limitShare);
  const redisShare = shareOf(cfg.redis.maxClients, mon.limitShare);
  return [
    nearLimit(cfg, {
      alert: "PostgresBackendsNearBudget",
      metric: POSTGRES_METRICS.backends,
      extra: { datname: pg.database, state: "idle" },
      threshold: budgetShare,
      key: key("postgres.maxConnections"),
      summary: `PostgreSQL {{ $labels.instance }} has over ${mon.limitShare * 100}% of its connection budget in use: raise ${key("postgres.maxConnections")} (now ${pg.maxConnections}) or find who connects past PgBouncer.`,
      description: `{{ $value }} client backends, more than ${budgetShare} = ${key("monitoring.limitShare")} ${mon.limitShare} × (maxConnections ${pg.maxConnections} − superuserReservedConnections ${pg.superuserReservedConnections} − headroomConnections ${pg.headroomConnections} = ${budget}).`,
    }),
    nearLimit(cfg, {
      alert: "RedisClientsNearMax",
      metric: REDIS_METRICS.clients,
      extra: {},
      threshold: redisShare,
      key: key("redis.maxClients"),
      summary: `Redis {{ $labels.instance }} holds over ${mon.limitShare * 100}% of its client connections: raise ${key("redis.maxClients")} (now ${cfg.redis.maxClients}).`,
      description: `{{ $value }} clients, more than ${redisShare} = ${key("monitoring.limitShare")} ${mon.limitShare} × maxclients ${cfg.redis.maxClients}; past maxclients Redis refuses connections.`,
    }),
  ];
}

/** A series that is 0 when something is down, and the alert saying so. */
function downAlert(cfg: StackConfig, alert: string, metric: string, extra: Record<string, string>, what: string, key_: string, summary: string): AlertSpec {
  const by = ["namespace", "job", "instance"] as const;
  return {
    alert,
    severity: "critical",
    figure: `max by (${by.join(", ")}) (${metric}${selector({ namespace: cfg.namespace, ...extra })})`,
    op: "==",
    threshold: 0,
    forMs: cfg.monitoring.for,
    by,
    key: key_,
    summary: `${what} {{ $labels.instance }} is down: ${summary}`,
    description: `${metric}${Object.keys(extra).length === 0 ? "" : selector(extra)} has been 0 for ${formatDuration(cfg.monitoring.for)} (${key("monitoring.for")}).`,
    unit: "boolean",
    series: (v, l) => [{ name: metric, labels: { ...l, ...extra }, value: v }],
  };
}

function availabilityAlerts(cfg: StackConfig, opts: AlertOptions): AlertSpec[] {
  const up = PGBOUNCER_METRICS[opts.pgbouncerFigures].up;
  const scrape = formatDuration(cfg.monitoring.scrapeInterval);
  return [
    downAlert(cfg, "PostgresDown", POSTGRES_METRICS.up, {}, "PostgreSQL (as its exporter sees it)", key("postgres.port"), `its exporter cannot connect to it (${key("postgres.port")}).`),
    downAlert(cfg, "PgBouncerDown", up.name, up.selector, "PgBouncer (as its exporter sees it)", key("pgbouncer.port"), `its console does not answer (${key("pgbouncer.port")}).`),
    downAlert(cfg, "RedisDown", REDIS_METRICS.up, {}, "Redis (as its exporter sees it)", key("redis.port"), `its exporter cannot connect to it (${key("redis.port")}).`),
    downAlert(
      cfg,
      "ProbeNotReady",
      PROBE_METRICS.ready,
      {},
      "The probe's readiness",
      key("probe.postgresPoolMax"),
      `PostgreSQL through PgBouncer or Redis failed its check (a pool of ${key("probe.postgresPoolMax")} ${cfg.probe.postgresPoolMax} with every client busy fails it too).`,
    ),
    downAlert(
      cfg,
      "TargetDown",
      "up",
      {},
      "A scrape target",
      key("monitoring.scrapeInterval"),
      `Prometheus could not scrape it (every ${scrape}, ${key("monitoring.scrapeInterval")}); its exporter or the probe is not running.`,
    ),
  ];
}

/** Every alert the stack's config gives, in a fixed order. */
export function alertSpecs(cfg: StackConfig, opts: AlertOptions): AlertSpec[] {
  return [...pgbouncerAlerts(cfg, opts), ...serverAlerts(cfg), ...availabilityAlerts(cfg, opts)];
}

/** Prometheus' duration syntax, whole milliseconds: `90s`, `2m`, `500ms`. */
export function promDuration(ms: number): string {
  if (ms === 0) return "0s";
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** One rule as Prometheus' rule file and prometheus-operator's PrometheusRule both take it. */
export interface PrometheusAlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The description with its templates written out in words, for the docs and the dashboard. */
export const plainDescription = (a: AlertSpec) => a.description.replace(/\{\{ \$value \}\}/g, "N").replace(/\{\{ \$labels\.\w+ \}\}/g, "an instance");

export const alertExpr = (a: AlertSpec) => `${a.figure} ${a.op} ${a.threshold}`;

export function alertingRule(a: AlertSpec, stack: string): PrometheusAlertingRule {
  return {
    alert: a.alert,
    expr: alertExpr(a),
    for: promDuration(a.forMs),
    labels: { severity: a.severity, stack },
    annotations: { summary: a.summary, description: a.description, config_key: a.key },
  };
}

export const ALERT_GROUP = "pooling";

/** The rule groups: Prometheus' rule file `groups:` and a PrometheusRule's `spec.groups` alike. */
export function alertGroups(cfg: StackConfig, opts: AlertOptions) {
  return [{ name: `${ALERT_GROUP}-${cfg.stack}`, interval: promDuration(cfg.monitoring.evaluationInterval), rules: alertSpecs(cfg, opts).map((a) => alertingRule(a, cfg.stack)) }];
}

/** The rule file Prometheus loads (`rule_files:`), as `promtool check rules` takes it. */
export function renderAlertRules(cfg: StackConfig, opts: AlertOptions): string {
  return `# Alerting rules of stack ${cfg.stack}, rendered from its config (infra/render/alerts.ts).\n${stringify({ groups: alertGroups(cfg, opts) }, { lineWidth: 0 })}`;
}
