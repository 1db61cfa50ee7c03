/**
 * PgBouncer: Deployment, ConfigMap (reloaded in place), userlist Secret, Service and, for more than one
 * replica, a PodDisruptionBudget.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/index.ts";
import type { StackSecrets } from "../render/index.ts";
import { tlsSecret } from "./tls-secret.ts";
import type { StackCertificates } from "./manifests/index.ts";
import {
  pgbouncerConfigMap,
  pgbouncerDeployment,
  pgbouncerPodDisruptionBudget,
  pgbouncerSecret,
  pgbouncerSecretData,
  pgbouncerService,
  serviceHost,
} from "./manifests/index.ts";

export interface PgBouncerArgs {
  /** The validated stack config (`pooling:pgbouncer` sizes the pools and the Deployment). */
  config: StackConfig;
  /** The stack's generated secrets: userlist verifiers and console passwords. */
  secrets: pulumi.Output<StackSecrets>;
  /** The stack's certificates (./certificates.ts); required when `pooling:tls.enabled`. */
  certificates?: pulumi.Output<StackCertificates>;
  /** Resources that must exist first: the namespace, and PostgreSQL so the pools can fill. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class PgBouncer extends pulumi.ComponentResource {
  /** In-cluster host name of the Service. */
  readonly host: string;
  readonly deployment: k8s.apps.v1.Deployment;
  /** Only when `pooling:pgbouncer.replicas` > 1. */
  readonly podDisruptionBudget: k8s.policy.v1.PodDisruptionBudget | undefined;

  constructor(name: string, args: PgBouncerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:pgbouncer:PgBouncer", name, {}, opts);
    const cfg = args.config;
    const child = { parent: this, dependsOn: args.dependsOn };
    // Logical names are permanent: the Deployment mounts the ConfigMap by its (fixed) Kubernetes name, and
    // the provider updates it in place (enableConfigMapMutable), so a pool-size change rolls nothing.
    const config = new k8s.core.v1.ConfigMap(`${name}-config`, pgbouncerConfigMap(cfg), child);
    const secret = new k8s.core.v1.Secret(`${name}-secret`, pgbouncerSecret(cfg, args.secrets.apply((s) => pgbouncerSecretData(cfg, s))), child);
    const tls = tlsSecret(name, "pgbouncer", cfg, args.certificates, child);
    new k8s.core.v1.Service(`${name}-service`, pgbouncerService(cfg), child);
    this.deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, pgbouncerDeployment(cfg), { ...child, dependsOn: [config, secret, ...tls] });
    const pdb = pgbouncerPodDisruptionBudget(cfg);
    this.podDisruptionBudget = pdb ? new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, pdb, child) : undefined;
    this.host = serviceHost(cfg, "pgbouncer");
    this.registerOutputs({ host: this.host, deployment: this.deployment, podDisruptionBudget: this.podDisruptionBudget });
  }
}
