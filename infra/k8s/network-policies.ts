/** Who may connect to whom: only PgBouncer reaches PostgreSQL; only the probe reaches PgBouncer and Redis. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/index.ts";
import { networkPolicies } from "./manifests/index.ts";

export interface NetworkPoliciesArgs {
  /** The validated stack config (ports and namespace). */
  config: StackConfig;
  /** Resources that must exist first, usually the namespace. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class NetworkPolicies extends pulumi.ComponentResource {
  /** One policy per workload, keyed like `networkPolicies(cfg)`. */
  readonly policies: Record<string, k8s.networking.v1.NetworkPolicy>;

  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:network-policies:NetworkPolicies", name, {}, opts);
    this.policies = Object.fromEntries(
      Object.entries(networkPolicies(args.config)).map(([app, policy]) => [
        app,
        new k8s.networking.v1.NetworkPolicy(`${name}-${app}`, policy, { parent: this, dependsOn: args.dependsOn }),
      ]),
    );
    this.registerOutputs({ policies: this.policies });
  }
}
