/** The probe app: its pooled environment split into plain values and Secret-held URLs. */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { PROBE_SECRET_ENV_VARS } from "../../../app-probe/src/env.ts";
import type { StackConfig } from "../../config/index.ts";
import { probeEnvironment, type StackSecrets } from "../../render/index.ts";
import { STAND_IN, containerSecurity, httpProbe, labels, meta, podSecurity, resources, scratch, secret, secretEnv, type SecretData, selectorLabels, service } from "./common.ts";
import { tlsVolume, TLS_VOLUME } from "./tls.ts";
import { CLIENT_TLS_DIR, clientTls, pgbouncerStatsUrl, pooledUrl, redisUrl } from "./urls.ts";

/** The node user of the official Node.js images the probe's Dockerfile builds on. */
export const PROBE_UID = 1000;
export const PROBE_NAMES = { secret: "app-probe-env" } as const;

const SECRET_VARS: ReadonlySet<string> = new Set(PROBE_SECRET_ENV_VARS);

/**
 * The probe's environment from the same `probeEnvironment` the local stack uses. No direct PostgreSQL
 * URL: the NetworkPolicy lets only PgBouncer reach PostgreSQL, and the probe measures the pooled path.
 */
export function probeEnv(cfg: StackConfig, s: StackSecrets): { plain: Record<string, string>; secret: Record<string, string> } {
  const env = probeEnvironment(cfg, {
    databaseUrl: pooledUrl(cfg, s),
    pgbouncerStatsUrl: pgbouncerStatsUrl(cfg, s),
    redisUrl: redisUrl(cfg, s),
    host: "0.0.0.0",
    tls: clientTls(cfg),
  });
  const plain: Record<string, string> = {};
  const secretVars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) (SECRET_VARS.has(k) ? secretVars : plain)[k] = v;
  return { plain, secret: secretVars };
}

export interface ProbeEnvLayout {
  /** Variables with no secret in them, as values. */
  plain: Record<string, string>;
  /** Variables held in the Secret, by name only. */
  secretNames: readonly string[];
}

/** Which variables are plain and which are secret depends on names only, never on a secret's value. */
export function probeEnvLayout(cfg: StackConfig): ProbeEnvLayout {
  const env = probeEnv(cfg, STAND_IN);
  return { plain: env.plain, secretNames: Object.keys(env.secret) };
}

export function probeSecret(cfg: StackConfig, data: SecretData) {
  return secret(cfg, "probe", PROBE_NAMES.secret, data);
}

export function probeService(cfg: StackConfig) {
  return service(cfg, "probe", [{ name: "http", port: cfg.probe.port }]);
}

/**
 * @param image the pushed image; `pulumi up` passes its digest so a rebuild rolls the pods.
 * @param env the plain values and the names of the Secret-held ones (their values never appear here).
 */
export function probeDeployment(
  cfg: StackConfig,
  image: pulumi.Input<string>,
  env: ProbeEnvLayout,
): k8s.types.input.apps.v1.Deployment {
  const p = cfg.probe;
  const tmp = scratch("tmp", "/tmp");
  const envVars = [
    ...Object.entries(env.plain).map(([name, value]) => ({ name, value })),
    ...env.secretNames.map((name) => secretEnv(name, PROBE_NAMES.secret, name)),
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(cfg, "probe"),
    spec: {
      replicas: p.replicas,
      selector: { matchLabels: selectorLabels("probe") },
      template: {
        metadata: { labels: labels("probe") },
        spec: {
          securityContext: podSecurity(PROBE_UID),
          // The probe's own shutdown grace, plus time for the endpoint to stop routing to it.
          // No container of the stack talks to the API server, so none gets a token (without this the ServiceAccount admission plugin adds a projected token volume).
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: Math.ceil(p.shutdownGrace / 1000) + 10,
          containers: [
            {
              name: "app-probe",
              image,
              // The Dockerfile's WORKDIR and CMD, stated here so what starts is in the manifest: node is PID 1
              // and handles SIGTERM itself (graceful drain, then exit 0).
              command: ["node", "--enable-source-maps", "dist/main.js"],
              workingDir: "/app",
              env: envVars,
              ports: [{ name: "http", containerPort: p.port }],
              livenessProbe: httpProbe("/healthz", p.port, 10),
              readinessProbe: httpProbe("/readyz", p.port, 5),
              resources: resources(p.cpu, p.memory),
              securityContext: containerSecurity(PROBE_UID),
              // The stack's CA (and the client pair) at CLIENT_TLS_DIR, where TLS_CA_FILE and the URLs point.
              volumeMounts: [tmp.mount, ...(cfg.tls.enabled ? [{ name: TLS_VOLUME, mountPath: CLIENT_TLS_DIR, readOnly: true }] : [])],
            },
          ],
          volumes: [tmp.volume, ...(cfg.tls.enabled ? [tlsVolume("client")] : [])],
        },
      },
    },
  };
}
