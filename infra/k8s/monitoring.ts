/**
 * prometheus-operator objects: the alerting rules (PrometheusRule) and a PodMonitor per exporter and the
 * probe. Registered only when `pooling:monitoring.operator` is true: on a cluster without the operator's
 * CRDs the API server would refuse them.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/index.ts";
import { monitoringManifests } from "./manifests/index.ts";

export interface MonitoringArgs {
  /** The validated stack config: the rules' thresholds and `pooling:monitoring`. */
  config: StackConfig;
  /** Resources that must exist first, usually the namespace. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class Monitoring extends pulumi.ComponentResource {
  /** Each object by its manifest file's base name (`prometheusrule`, `podmonitor-pgbouncer`, ...). */
  readonly objects: Record<string, k8s.apiextensions.CustomResource>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:monitoring:Monitoring", name, {}, opts);
    this.objects = Object.fromEntries(
      monitoringManifests(args.config).map(({ file, object }) => {
        const role = file.replace(/^monitoring\//, "").replace(/\.yaml$/, "");
        return [role, new k8s.apiextensions.CustomResource(`${name}-${role}`, object as k8s.apiextensions.CustomResourceArgs, { parent: this, dependsOn: args.dependsOn })];
      }),
    );
    this.registerOutputs({ objects: this.objects });
  }
}
