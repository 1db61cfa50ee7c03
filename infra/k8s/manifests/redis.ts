/** Redis on Kubernetes: the rendered redis.conf in a ConfigMap, `requirepass` in an included Secret file. */
import type * as k8s from "@pulumi/kubernetes";
import { EXPORTER_BINARIES, type StackConfig } from "../../config/index.ts";
import { contentHash, renderRedisAuthConf, renderRedisConf, type RedisRuntime, type StackSecrets } from "../../render/index.ts";
import {
  sidecarResources,
  CONFIG_CHECKSUM_ANNOTATION,
  configMap,
  containerSecurity,
  execProbe,
  httpProbe,
  images,
  labels,
  meta,
  memoryQuantity,
  podSecurity,
  resources,
  secret,
  type SecretData,
  secretEnv,
  selectorLabels,
  service,
} from "./common.ts";
import { clientPairIn, serverTlsFiles, tlsMount, tlsVolume } from "./tls.ts";
import { redisCli, redisTlsReloadCommand, reloaderImage, tlsReloaderContainer } from "./tls-reload.ts";
import { FILES } from "../../render/names.ts";

/** The redis user of the official Debian-based image. */
export const REDIS_UID = 999;
export const REDIS_METRICS_PORT = 9121;
const CONF_DIR = "/etc/redis";
const AUTH_DIR = "/etc/redis-auth";
const DATA_DIR = "/data";

export const REDIS_NAMES = { configMap: "redis-config", secret: "redis-secret" } as const;

export function redisRuntime(cfg: StackConfig): RedisRuntime {
  return { bind: "0.0.0.0", dir: DATA_DIR, authFile: `${AUTH_DIR}/redis-auth.conf`, ...(cfg.tls.enabled ? { tls: serverTlsFiles("redis") } : {}) };
}

export function redisConfigMap(cfg: StackConfig): k8s.types.input.core.v1.ConfigMap {
  return configMap(cfg, "redis", REDIS_NAMES.configMap, { [FILES.redisConf]: renderRedisConf(cfg, redisRuntime(cfg)) });
}

export function redisSecretData(_cfg: StackConfig, s: StackSecrets): Record<string, string> {
  return { [FILES.redisAuthConf]: renderRedisAuthConf(s.redisPassword), password: s.redisPassword };
}

export function redisSecret(cfg: StackConfig, data: SecretData) {
  return secret(cfg, "redis", REDIS_NAMES.secret, data);
}

export function redisService(cfg: StackConfig) {
  return service(cfg, "redis", [
    { name: "redis", port: cfg.redis.port },
    { name: "metrics", port: REDIS_METRICS_PORT },
  ]);
}

export function redisStatefulSet(cfg: StackConfig): k8s.types.input.apps.v1.StatefulSet {
  const r = cfg.redis;
  // redis-cli reads the password from REDISCLI_AUTH, so it never shows in a process list. With TLS on,
  // the only port is the TLS one: the probe speaks TLS and verifies Redis against the mounted CA.
  const ping = ["sh", "-c", `${redisCli(cfg, "ping")} | grep -q PONG`];
  const tls = cfg.tls.enabled
    ? tlsReloaderContainer({ cfg, server: "redis", image: reloaderImage(cfg, "redis"), uid: REDIS_UID, command: redisTlsReloadCommand(cfg), env: [secretEnv("REDISCLI_AUTH", REDIS_NAMES.secret, "password")] })
    : undefined;
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta(cfg, "redis"),
    spec: {
      replicas: 1,
      serviceName: "redis",
      selector: { matchLabels: selectorLabels("redis") },
      template: {
        metadata: {
          labels: labels("redis"),
          annotations: { [CONFIG_CHECKSUM_ANNOTATION]: contentHash(Object.values(redisConfigMap(cfg).data ?? {}).join("\n")) },
        },
        spec: {
          securityContext: podSecurity(REDIS_UID),
          // No container of the stack talks to the API server, so none gets a token (without this the ServiceAccount admission plugin adds a projected token volume).
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: "redis",
              image: images(cfg).redis,
              command: ["redis-server", `${CONF_DIR}/redis.conf`],
              env: [secretEnv("REDISCLI_AUTH", REDIS_NAMES.secret, "password")],
              ports: [{ name: "redis", containerPort: r.port }],
              // Exec probes, inside the container: a tcpSocket probe comes from the node, which the
              // NetworkPolicy (only the probe app may reach this port) cuts off on CNIs that enforce it
              // strictly (kubernetes-sigs/kind#3875, kube-network-policies#150).
              readinessProbe: execProbe(ping, 5),
              livenessProbe: { ...execProbe(ping, 10), failureThreshold: 6 },
              resources: resources(r.cpu, r.memory),
              securityContext: containerSecurity(REDIS_UID),
              volumeMounts: [
                { name: "data", mountPath: DATA_DIR },
                { name: "config", mountPath: CONF_DIR, readOnly: true },
                { name: "auth", mountPath: AUTH_DIR, readOnly: true },
                ...(tls ? [tlsMount("redis")] : []),
              ],
            },
            {
              name: "redis-exporter",
              image: images(cfg).redisExporter,
              command: [EXPORTER_BINARIES.redis],
              env: [{ name: "REDIS_ADDR", value: `${tls ? "rediss" : "redis"}://127.0.0.1:${r.port}` }, secretEnv("REDIS_PASSWORD", REDIS_NAMES.secret, "password")],
              ...(tls ? { args: exporterTlsArgs(cfg), volumeMounts: [tlsMount("redis")] } : {}),
              ports: [{ name: "metrics", containerPort: REDIS_METRICS_PORT }],
              livenessProbe: httpProbe("/metrics", REDIS_METRICS_PORT, 30),
              readinessProbe: httpProbe("/metrics", REDIS_METRICS_PORT, 5),
              resources: sidecarResources(),
              securityContext: containerSecurity(59000),
            },
            ...(tls ? [tls.container] : []),
          ],
          volumes: [
            { name: "config", configMap: { name: REDIS_NAMES.configMap } },
            { name: "auth", secret: { secretName: REDIS_NAMES.secret, items: [{ key: FILES.redisAuthConf, path: FILES.redisAuthConf }], defaultMode: 0o440 } },
            ...(tls ? [tlsVolume("redis"), tls.volume] : []),
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data", labels: labels("redis") },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: memoryQuantity(r.storage) } } },
        },
      ],
    },
  };
}

/**
 * redis_exporter's TLS flags (its README, "Authenticating with Redis": rediss:// and -tls-ca-cert-file;
 * -tls-client-cert-file/-tls-client-key-file for client certificates; the same in Debian's 1.45 stand-in,
 * `prometheus-redis-exporter --help`).
 */
function exporterTlsArgs(cfg: StackConfig): string[] {
  const pair = cfg.tls.clientCertificates ? [`-tls-client-cert-file=${clientPairIn("redis").cert}`, `-tls-client-key-file=${clientPairIn("redis").key}`] : [];
  return [`-tls-ca-cert-file=${serverTlsFiles("redis").ca}`, ...pair];
}
