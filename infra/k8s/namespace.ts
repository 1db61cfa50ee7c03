/** The stack's namespace, admitting only pods that meet the "restricted" Pod Security Standard. */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/index.ts";
import { namespace } from "./manifests/index.ts";

export interface StackNamespaceArgs {
  /** The validated stack config; `namespace` names the namespace. */
  config: StackConfig;
}

export class StackNamespace extends pulumi.ComponentResource {
  /** The namespace's name, known once it exists: depend on it to create things inside it. */
  readonly name: pulumi.Output<string>;

  constructor(name: string, args: StackNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:namespace:StackNamespace", name, {}, opts);
    const ns = new k8s.core.v1.Namespace(`${name}-namespace`, namespace(args.config), { parent: this });
    this.name = ns.metadata.name;
    this.registerOutputs({ name: this.name });
  }
}
