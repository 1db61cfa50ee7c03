/** PostgreSQL: StatefulSet with its volume, the rendered config, the generated passwords, a Service. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/index.ts";
import type { StackSecrets } from "../render/index.ts";
import { tlsSecret } from "./tls-secret.ts";
import type { StackCertificates } from "./manifests/index.ts";
import { postgresConfigMap, postgresSecret, postgresSecretData, postgresService, postgresStatefulSet, serviceHost } from "./manifests/index.ts";

export interface PostgresArgs {
  /** The validated stack config (`pooling:postgres` sizes the server). */
  config: StackConfig;
  /** The stack's generated secrets: superuser and app passwords, the app role's salt. */
  secrets: pulumi.Output<StackSecrets>;
  /** The stack's certificates (./certificates.ts); required when `pooling:tls.enabled`. */
  certificates?: pulumi.Output<StackCertificates>;
  /** Resources that must exist first, usually the namespace. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class Postgres extends pulumi.ComponentResource {
  /** In-cluster host name of the Service. */
  readonly host: string;
  readonly statefulSet: k8s.apps.v1.StatefulSet;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:postgres:Postgres", name, {}, opts);
    const cfg = args.config;
    const child = { parent: this, dependsOn: args.dependsOn };
    const config = new k8s.core.v1.ConfigMap(`${name}-config`, postgresConfigMap(cfg), child);
    const secret = new k8s.core.v1.Secret(`${name}-secret`, postgresSecret(cfg, args.secrets.apply((s) => postgresSecretData(cfg, s))), child);
    const tls = tlsSecret(name, "postgres", cfg, args.certificates, child);
    new k8s.core.v1.Service(`${name}-service`, postgresService(cfg), child);
    this.statefulSet = new k8s.apps.v1.StatefulSet(`${name}-statefulset`, postgresStatefulSet(cfg), { ...child, dependsOn: [config, secret, ...tls] });
    this.host = serviceHost(cfg, "postgres");
    this.registerOutputs({ host: this.host, statefulSet: this.statefulSet });
  }
}
