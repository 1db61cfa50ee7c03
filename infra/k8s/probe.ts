/** The probe app: its image built and pushed to the local registry, its pooled env, a Deployment, a Service. */
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/index.ts";
import type { StackSecrets } from "../render/index.ts";
import { probeDeployment, probeEnv, probeEnvLayout, probeImageName, probeSecret, probeService } from "./manifests/index.ts";
import type { LocalRegistry } from "./registry.ts";

export interface ProbeAppArgs {
  /** The validated stack config (`pooling:probe` sizes the pools and the Deployment). */
  config: StackConfig;
  /** The stack's generated secrets, for the URLs in the probe's environment. */
  secrets: pulumi.Output<StackSecrets>;
  /** The registry the image is pushed to; the image waits for it. */
  registry: LocalRegistry;
  /** Docker build context: the `app-probe/` folder, which ships alone (nothing of infra/ is in it). */
  buildContext: string;
  /** The Dockerfile, relative to the build context; default `Dockerfile`. */
  dockerfile?: string;
  /** Resources that must exist first: the namespace, PgBouncer and Redis. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class ProbeApp extends pulumi.ComponentResource {
  readonly image: docker.Image;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;

  constructor(name: string, args: ProbeAppArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:probe:ProbeApp", name, {}, opts);
    const cfg = args.config;
    const child = { parent: this, dependsOn: args.dependsOn };
    this.image = new docker.Image(
      `${name}-image`,
      {
        imageName: probeImageName(cfg),
        build: { context: args.buildContext, dockerfile: args.dockerfile ?? "Dockerfile" },
        registry: { server: args.registry.server },
      },
      { parent: this, dependsOn: [args.registry] },
    );
    const env = args.secrets.apply((s) => probeEnv(cfg, s));
    const secret = new k8s.core.v1.Secret(`${name}-secret`, probeSecret(cfg, env.apply((e) => e.secret)), child);
    // The digest, not the tag: a rebuilt image rolls the pods, an unchanged one does not.
    const spec = probeDeployment(cfg, this.image.repoDigest, probeEnvLayout(cfg));
    this.deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, spec, { ...child, dependsOn: [secret, ...(args.dependsOn ?? [])] });
    this.service = new k8s.core.v1.Service(`${name}-service`, probeService(cfg), child);
    this.registerOutputs({ image: this.image, deployment: this.deployment, service: this.service });
  }
}
