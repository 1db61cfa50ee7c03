/**
 * prometheus-operator's objects (monitoring.coreos.com/v1): the alerting rules as a PrometheusRule and a
 * PodMonitor per scrape target, built only when `pooling:monitoring.operator` says the cluster runs the
 * operator. The rules are the very groups the local Prometheus loads (infra/render/alerts.ts), with the
 * PgBouncer figures of the exporter sidecar.
 *
 * Labels the rules select on: the operator's generated scrape config gives every PodMonitor target the
 * pod's `namespace`, `pod`, `container` and `instance` labels and `job` = `<namespace>/<PodMonitor name>`
 * (prometheus-operator @ 6adcebc, pkg/prometheus/promcfg.go, generatePodMonitorConfig), so the rules'
 * `namespace="…"` selector finds exactly this stack's pods.
 */
import { alertGroups, promDuration, SCRAPE_JOBS, type ScrapeJob } from "../../render/index.ts";
import type { StackConfig } from "../../config/index.ts";
import { APPS, PART_OF, labels, selectorLabels, type AppKey } from "./common.ts";

export const MONITORING_API_VERSION = "monitoring.coreos.com/v1";

/** The container port each target serves /metrics on (its name in the pod spec). */
const TARGETS: Record<ScrapeJob, { app: AppKey; port: string }> = {
  postgres: { app: "postgres", port: "metrics" },
  pgbouncer: { app: "pgbouncer", port: "metrics" },
  redis: { app: "redis", port: "metrics" },
  probe: { app: "probe", port: "http" },
};

export function prometheusRule(cfg: StackConfig) {
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: "PrometheusRule",
    metadata: { name: `${PART_OF}-alerts`, namespace: cfg.namespace, labels: { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi" } },
    spec: { groups: alertGroups(cfg, { pgbouncerFigures: "exporter" }) },
  };
}

export function podMonitor(cfg: StackConfig, job: ScrapeJob) {
  const { app, port } = TARGETS[job];
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: "PodMonitor",
    metadata: { name: SCRAPE_JOBS[job], namespace: cfg.namespace, labels: labels(app) },
    spec: {
      selector: { matchLabels: selectorLabels(app) },
      podMetricsEndpoints: [{ port, path: "/metrics", interval: promDuration(cfg.monitoring.scrapeInterval) }],
    },
  };
}

/** Every monitoring object, or none when the cluster has no prometheus-operator. */
export function monitoringManifests(cfg: StackConfig): Array<{ file: string; object: Record<string, unknown> }> {
  if (!cfg.monitoring.operator) return [];
  return [
    { file: "monitoring/prometheusrule.yaml", object: prometheusRule(cfg) },
    ...(Object.keys(TARGETS) as ScrapeJob[]).map((job) => ({ file: `monitoring/podmonitor-${APPS[TARGETS[job].app].name}.yaml`, object: podMonitor(cfg, job) })),
  ];
}
