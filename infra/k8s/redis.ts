/** Redis: StatefulSet with its volume, redis.conf in a ConfigMap, the password in an included Secret file. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/index.ts";
import type { StackSecrets } from "../render/index.ts";
import { tlsSecret } from "./tls-secret.ts";
import type { StackCertificates } from "./manifests/index.ts";
import { redisConfigMap, redisSecret, redisSecretData, redisService, redisStatefulSet, serviceHost } from "./manifests/index.ts";

export interface RedisArgs {
  /** The validated stack config (`pooling:redis`). */
  config: StackConfig;
  /** The stack's generated secrets: the Redis password. */
  secrets: pulumi.Output<StackSecrets>;
  /** The stack's certificates (./certificates.ts); required when `pooling:tls.enabled`. */
  certificates?: pulumi.Output<StackCertificates>;
  /** Resources that must exist first, usually the namespace. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class Redis extends pulumi.ComponentResource {
  /** In-cluster host name of the Service. */
  readonly host: string;
  readonly statefulSet: k8s.apps.v1.StatefulSet;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:redis:Redis", name, {}, opts);
    const cfg = args.config;
    const child = { parent: this, dependsOn: args.dependsOn };
    const config = new k8s.core.v1.ConfigMap(`${name}-config`, redisConfigMap(cfg), child);
    const secret = new k8s.core.v1.Secret(`${name}-secret`, redisSecret(cfg, args.secrets.apply((s) => redisSecretData(cfg, s))), child);
    const tls = tlsSecret(name, "redis", cfg, args.certificates, child);
    new k8s.core.v1.Service(`${name}-service`, redisService(cfg), child);
    this.statefulSet = new k8s.apps.v1.StatefulSet(`${name}-statefulset`, redisStatefulSet(cfg), { ...child, dependsOn: [config, secret, ...tls] });
    this.host = serviceHost(cfg, "redis");
    this.registerOutputs({ host: this.host, statefulSet: this.statefulSet });
  }
}
