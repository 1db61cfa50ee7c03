/**
 * kind's local registry: a Docker container (KIND.registryContainer) published on
 * localhost:KIND.registryHostPort and joined to the `kind` network, and the kube-public ConfigMap that
 * advertises it. scripts/pulumi.ts points each node's containerd at it.
 */
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KIND, registryHost } from "./kind.ts";
import { localRegistryHosting } from "./manifests/index.ts";

export interface LocalRegistryArgs {
  /** Docker network the kind nodes are on; the nodes reach the registry there by container name. */
  network?: string;
  /**
   * Host port the registry is published on (127.0.0.1 only); default KIND.registryHostPort. The nodes'
   * containerd config and the image names follow KIND, so on kind another port here is not pulled from.
   */
  hostPort?: number;
}

export class LocalRegistry extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /** Where `docker push` sends images: `localhost:<hostPort>`. */
  readonly server: string;

  constructor(name: string, args: LocalRegistryArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:registry:LocalRegistry", name, {}, opts);
    const hostPort = args.hostPort ?? KIND.registryHostPort;
    const image = new docker.RemoteImage(`${name}-image`, { name: KIND.registryImage, keepLocally: true }, { parent: this });
    this.container = new docker.Container(
      `${name}-container`,
      {
        name: KIND.registryContainer,
        image: image.imageId,
        restart: "always",
        ports: [{ internal: KIND.registryPort, external: hostPort, ip: "127.0.0.1" }],
        networksAdvanced: [{ name: args.network ?? KIND.network }],
      },
      { parent: this },
    );
    this.server = args.hostPort === undefined ? registryHost() : `localhost:${hostPort}`;
    new k8s.core.v1.ConfigMap(`${name}-hosting`, localRegistryHosting(this.server), { parent: this });
    this.registerOutputs({ container: this.container, server: this.server });
  }
}
