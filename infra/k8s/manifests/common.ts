/**
 * Building blocks shared by every manifest builder: labels, names, images, the restricted security
 * context, resources. Pure: plain objects in, plain objects out. Values typed `pulumi.Input` are passed
 * through untouched, so a component can hand in an Output (a password, an image digest) and the render
 * CLI a plain string, and both get the very same manifest.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { EXPORTER_IMAGES, PROBE_REPOSITORY, formatSize, serverImages, type StackConfig } from "../../config/index.ts";
import type { StackSecrets } from "../../render/index.ts";
import { ROLE_LABEL, ROLES } from "../../render/names.ts";

export type Container = k8s.types.input.core.v1.Container;
export type PodSpec = k8s.types.input.core.v1.PodSpec;
export type ObjectMeta = k8s.types.input.meta.v1.ObjectMeta;
export type EnvVar = k8s.types.input.core.v1.EnvVar;
export type Probe = k8s.types.input.core.v1.Probe;

/**
 * Pod-template annotation with a hash of the server's rendered config. PostgreSQL and Redis do not
 * re-read their mounted files, so a config change must roll the pod; without this the ConfigMap would
 * change while the server kept running the old settings (and the budget check would describe a
 * max_connections the server does not have).
 */
export const CONFIG_CHECKSUM_ANNOTATION = "pooling.dev/config-checksum";

/** Written in place of every Secret value by the render CLI. */
export const REDACTED = "<redacted: generated at the first pulumi up>";

/**
 * Stand-in secrets: they give every Secret its full set of keys and let the renderers run where only the
 * shape matters; every value derived from them is replaced by REDACTED or dropped, never printed.
 */
export const STAND_IN: StackSecrets = (() => {
  const user = { password: "standin", salt: Buffer.alloc(16).toString("base64") };
  return { superuser: user, app: user, pgbouncerAdmin: user, pgbouncerStats: user, redisPassword: "standin" };
})();

/** The four workloads; each name is also its Service's name and the DNS name clients use. */
export const APPS = {
  postgres: { name: "postgres", component: ROLES.postgres },
  pgbouncer: { name: "pgbouncer", component: ROLES.pgbouncer },
  redis: { name: "redis", component: ROLES.redis },
  probe: { name: "app-probe", component: ROLES.probe },
} as const;
export type AppKey = keyof typeof APPS;

export const PART_OF = "pooling";

/** What a Service and a NetworkPolicy select on: stable for the life of the workload. */
export function selectorLabels(app: AppKey): Record<string, string> {
  return { "app.kubernetes.io/name": APPS[app].name, "app.kubernetes.io/part-of": PART_OF };
}

export function labels(app: AppKey): Record<string, string> {
  return {
    ...selectorLabels(app),
    [ROLE_LABEL]: APPS[app].component,
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

/**
 * Every object gets an explicit name: the ConfigMap a pod mounts must keep its name when its content
 * changes (an auto-named one would be replaced under a new name and roll the pods), and the render CLI
 * must print the names `pulumi up` applies.
 */
export function meta(cfg: StackConfig, app: AppKey, name: string = APPS[app].name, annotations?: Record<string, string>): ObjectMeta {
  return { name, namespace: cfg.namespace, labels: labels(app), ...(annotations ? { annotations } : {}) };
}

/** In-cluster DNS name of an app's Service. */
export function serviceHost(cfg: StackConfig, app: AppKey): string {
  return `${APPS[app].name}.${cfg.namespace}.svc.cluster.local`;
}

/**
 * Every image, pinned to a published patch release; the tables and where each tag was established are in
 * infra/config/images.ts, whose check has already refused a version with no known tag.
 */
export function images(cfg: StackConfig) {
  const servers = serverImages(cfg);
  const known = (server: keyof typeof servers): string => {
    const image = servers[server];
    if (image === undefined) throw new Error(`pooling:${server}.version = "${cfg[server].version}" passed validation without a pinned image`);
    return image;
  };
  return {
    postgres: known("postgres"),
    postgresExporter: EXPORTER_IMAGES.postgres,
    pgbouncer: known("pgbouncer"),
    pgbouncerExporter: EXPORTER_IMAGES.pgbouncer,
    redis: known("redis"),
    redisExporter: EXPORTER_IMAGES.redis,
  };
}

/**
 * The probe image built from app-probe/ and pushed to `registry` (host[:port][/path]), tagged with the stack
 * name. Which registry is the cluster target's choice (../deploy-plan.ts).
 */
export const probeImageName = (registry: string, cfg: StackConfig) => `${registry}/${PROBE_REPOSITORY}:${cfg.stack}`;

/** A byte count as a Kubernetes quantity ("1Gi", "256Mi"; plain bytes when not a whole KiB). */
export function memoryQuantity(bytes: number): string {
  const s = formatSize(bytes);
  return s.endsWith("B") ? String(bytes) : s;
}

/** Requests equal to limits: the Guaranteed QoS class, so a busy node evicts these last. */
export function resources(cpu: string, memoryBytes: number) {
  const r = () => ({ cpu, memory: memoryQuantity(memoryBytes) });
  return { requests: r(), limits: r() };
}

/** Small fixed budgets for sidecars (exporters, the reloader). */
export function sidecarResources() {
  return { requests: { cpu: "20m", memory: "32Mi" }, limits: { cpu: "100m", memory: "64Mi" } };
}

/** The container half of the "restricted" Pod Security Standard. */
export function containerSecurity(uid: number, readOnlyRootFilesystem = true): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** The pod half; fsGroup makes mounted Secrets, ConfigMaps and volumes readable by the server's user. */
export function podSecurity(fsGroup: number): k8s.types.input.core.v1.PodSecurityContext {
  return { runAsNonRoot: true, fsGroup, seccompProfile: { type: "RuntimeDefault" } };
}

export function secretEnv(name: string, secret: string, key: string): EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

export const httpProbe = (path: string, port: number, periodSeconds = 10): Probe => ({
  httpGet: { path, port },
  periodSeconds,
  timeoutSeconds: 3,
  failureThreshold: 3,
});
export const execProbe = (command: string[], periodSeconds = 10): Probe => ({ exec: { command: [...command] }, periodSeconds, timeoutSeconds: 5, failureThreshold: 3 });

/** A writable scratch directory on a read-only root filesystem. */
export function scratch(name: string, mountPath: string) {
  return { volume: { name, emptyDir: { sizeLimit: "64Mi" } }, mount: { name, mountPath } };
}

export function configMap(cfg: StackConfig, app: AppKey, name: string, data: Record<string, string>): k8s.types.input.core.v1.ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: meta(cfg, app, name), data };
}

/** Secret values: Outputs under `pulumi up`, REDACTED in the render CLI. */
export type SecretData = pulumi.Input<Record<string, pulumi.Input<string>>>;

/** A Secret from string values; the values may be Outputs (pulumi up) or {@link REDACTED} (render). */
export function secret(cfg: StackConfig, app: AppKey, name: string, stringData: SecretData): k8s.types.input.core.v1.Secret {
  return { apiVersion: "v1", kind: "Secret", metadata: meta(cfg, app, name), type: "Opaque", stringData };
}

export function service(cfg: StackConfig, app: AppKey, ports: Array<{ name: string; port: number }>): k8s.types.input.core.v1.Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(cfg, app),
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(app),
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" })),
    },
  };
}

/** Replaces every value of a record with {@link REDACTED}, keeping the keys. */
export function redact(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(data).map((k) => [k, REDACTED]));
}
