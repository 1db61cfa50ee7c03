/**
 * Every Kubernetes object `pulumi up` applies, as plain data, built by the same functions the components
 * call. The render CLI writes them to disk; tests validate them against the Kubernetes OpenAPI schema.
 */
import type { StackConfig } from "../../config/index.ts";
import type { StackSecrets } from "../../render/index.ts";
import { localRegistryHosting, namespace, networkPolicies } from "./cluster.ts";
import { APPS, STAND_IN, redact } from "./common.ts";
import { stackProbe } from "../deploy-plan.ts";
import { pgbouncerConfigMap, pgbouncerDeployment, pgbouncerPodDisruptionBudget, pgbouncerSecret, pgbouncerSecretData, pgbouncerService } from "./pgbouncer.ts";
import { postgresConfigMap, postgresSecret, postgresSecretData, postgresService, postgresStatefulSet } from "./postgres.ts";
import { probeDeployment, probeEnv, probeEnvLayout, probeSecret, probeService } from "./probe.ts";
import { monitoringManifests } from "./monitoring.ts";
import { redisConfigMap, redisSecret, redisSecretData, redisService, redisStatefulSet } from "./redis.ts";
import { clientTlsSecret, clientTlsSecretData, redactedCertificates, serverTlsSecret, serverTlsSecretData, type StackCertificates } from "./tls.ts";

export * from "./cluster.ts";
export * from "./monitoring.ts";
export * from "./common.ts";
export * from "./pgbouncer.ts";
export * from "./pgbouncer-drain.ts";
export * from "./postgres-init.ts";
export * from "./postgres.ts";
export * from "./probe.ts";
export * from "./redis.ts";
export * from "./urls.ts";
export * from "./tls.ts";
export * from "./tls-reload.ts";

export interface RenderedManifest {
  /** Path under `k8s/`, e.g. `pgbouncer/deployment.yaml`. */
  file: string;
  object: Record<string, unknown>;
}

/**
 * @param secrets only for the pod runner, which needs working passwords in the Secrets it mounts: the
 *   given values are written into them. Without it (the default) every Secret value is REDACTED.
 * @param certificates likewise, the certificate set written into the TLS Secrets (with TLS on); without
 *   it their values are REDACTED.
 */
export function renderManifests(cfg: StackConfig, secrets?: StackSecrets, certificates?: StackCertificates): RenderedManifest[] {
  const env = probeEnv(cfg, secrets ?? STAND_IN);
  const secretValues = (data: Record<string, string>) => (secrets ? data : redact(data));
  const s = secrets ?? STAND_IN;
  const policies = networkPolicies(cfg);
  const pdb = pgbouncerPodDisruptionBudget(cfg);
  const certs = certificates ?? redactedCertificates();
  const tls = cfg.tls.enabled;
  // The probe image and the registry notice as `pulumi up` on the stack's own cluster has them.
  const probe = stackProbe(cfg);
  const out: Array<[string, object | undefined]> = [
    ["namespace.yaml", namespace(cfg)],
    ["kube-public/local-registry-hosting.yaml", probe.source === "build" && probe.kindRegistry ? localRegistryHosting(probe.registryServer) : undefined],
    ["postgres/configmap.yaml", postgresConfigMap(cfg)],
    ["postgres/secret.yaml", postgresSecret(cfg, secretValues(postgresSecretData(cfg, s)))],
    ["postgres/tls-secret.yaml", tls ? serverTlsSecret(cfg, "postgres", serverTlsSecretData(cfg, "postgres", certs)) : undefined],
    ["postgres/service.yaml", postgresService(cfg)],
    ["postgres/statefulset.yaml", postgresStatefulSet(cfg)],
    ["postgres/networkpolicy.yaml", policies.postgres],
    ["pgbouncer/configmap.yaml", pgbouncerConfigMap(cfg)],
    ["pgbouncer/secret.yaml", pgbouncerSecret(cfg, secretValues(pgbouncerSecretData(cfg, s)))],
    ["pgbouncer/tls-secret.yaml", tls ? serverTlsSecret(cfg, "pgbouncer", serverTlsSecretData(cfg, "pgbouncer", certs)) : undefined],
    ["pgbouncer/service.yaml", pgbouncerService(cfg)],
    ["pgbouncer/deployment.yaml", pgbouncerDeployment(cfg)],
    ["pgbouncer/poddisruptionbudget.yaml", pdb],
    ["pgbouncer/networkpolicy.yaml", policies.pgbouncer],
    ["redis/configmap.yaml", redisConfigMap(cfg)],
    ["redis/secret.yaml", redisSecret(cfg, secretValues(redisSecretData(cfg, s)))],
    ["redis/tls-secret.yaml", tls ? serverTlsSecret(cfg, "redis", serverTlsSecretData(cfg, "redis", certs)) : undefined],
    ["redis/service.yaml", redisService(cfg)],
    ["redis/statefulset.yaml", redisStatefulSet(cfg)],
    ["redis/networkpolicy.yaml", policies.redis],
    [`${APPS.probe.name}/secret.yaml`, probeSecret(cfg, secretValues(env.secret))],
    [`${APPS.probe.name}/tls-secret.yaml`, tls ? clientTlsSecret(cfg, clientTlsSecretData(cfg, certs)) : undefined],
    [`${APPS.probe.name}/service.yaml`, probeService(cfg)],
    [`${APPS.probe.name}/deployment.yaml`, probeDeployment(cfg, probe.source === "build" ? probe.imageName : probe.image, probeEnvLayout(cfg))],
    [`${APPS.probe.name}/networkpolicy.yaml`, policies.probe],
  ];
  return [
    ...out.filter((e): e is [string, object] => e[1] !== undefined).map(([file, object]) => ({ file, object: object as Record<string, unknown> })),
    ...monitoringManifests(cfg),
  ];
}
