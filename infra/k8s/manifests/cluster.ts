/** Namespace-wide objects: the namespace itself, its NetworkPolicies, kind's local-registry notice. */
import type * as k8s from "@pulumi/kubernetes";
import type { StackConfig } from "../../config/index.ts";
import { APPS, PART_OF, meta, selectorLabels, type AppKey } from "./common.ts";
import { PGBOUNCER_METRICS_PORT } from "./pgbouncer.ts";
import { POSTGRES_METRICS_PORT } from "./postgres.ts";
import { REDIS_METRICS_PORT } from "./redis.ts";

/** The namespace admits only pods meeting the "restricted" Pod Security Standard. */
export function namespace(cfg: StackConfig): k8s.types.input.core.v1.Namespace {
  const pss = Object.fromEntries(["enforce", "audit", "warn"].map((mode) => [`pod-security.kubernetes.io/${mode}`, "restricted"]));
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: cfg.namespace,
      labels: { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi", ...pss },
    },
  };
}

interface Rule {
  /** Who may connect; undefined: any pod or address (metrics scrapers, port-forwards). */
  from?: AppKey;
  port: number;
}

function policy(cfg: StackConfig, app: AppKey, rules: Rule[]): k8s.types.input.networking.v1.NetworkPolicy {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(cfg, app, `${APPS[app].name}-ingress`),
    spec: {
      podSelector: { matchLabels: selectorLabels(app) },
      policyTypes: ["Ingress"],
      ingress: rules.map((r) => ({
        ...(r.from ? { from: [{ podSelector: { matchLabels: selectorLabels(r.from) } }] } : {}),
        ports: [{ protocol: "TCP", port: r.port }],
      })),
    },
  };
}

/**
 * Only PgBouncer reaches PostgreSQL; only the probe reaches PgBouncer and Redis. Exporter ports stay open
 * for scrapers, and the exporters themselves talk to their server over the pod's loopback, which no
 * NetworkPolicy filters. kind's default CNI (kindnet) does not enforce these; Calico or Cilium do.
 */
export function networkPolicies(cfg: StackConfig): Record<AppKey, k8s.types.input.networking.v1.NetworkPolicy> {
  return {
    postgres: policy(cfg, "postgres", [{ from: "pgbouncer", port: cfg.postgres.port }, { port: POSTGRES_METRICS_PORT }]),
    pgbouncer: policy(cfg, "pgbouncer", [{ from: "probe", port: cfg.pgbouncer.port }, { port: PGBOUNCER_METRICS_PORT }]),
    redis: policy(cfg, "redis", [{ from: "probe", port: cfg.redis.port }, { port: REDIS_METRICS_PORT }]),
    probe: policy(cfg, "probe", [{ port: cfg.probe.port }]),
  };
}

/** kind's local-registry guide: tells cluster tools where the local registry (`host`, as pushed to) is (KEP-1755). */
export function localRegistryHosting(host: string): k8s.types.input.core.v1.ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "local-registry-hosting",
      namespace: "kube-public",
      labels: { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi" },
    },
    data: {
      "localRegistryHosting.v1": `host: "${host}"\nhelp: "https://kind.sigs.k8s.io/docs/user/local-registry/"\n`,
    },
  };
}
