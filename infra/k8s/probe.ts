/** The probe app: its image (built and pushed, or given), its pooled env, a Deployment, a Service. */
import { statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/index.ts";
import { PoolingError } from "../errors.ts";
import type { StackSecrets } from "../render/index.ts";
import { probeDeployment, probeEnv, probeEnvLayout, probeSecret, probeService } from "./manifests/index.ts";
import type { LocalRegistry } from "./registry.ts";
import { tlsSecret } from "./tls-secret.ts";
import type { StackCertificates } from "./manifests/index.ts";

interface ProbeAppCommon {
  /** The validated stack config (`pooling:probe` sizes the pools and the Deployment). */
  config: StackConfig;
  /** The stack's generated secrets, for the URLs in the probe's environment. */
  secrets: pulumi.Output<StackSecrets>;
  /** The stack's certificates (./certificates.ts), for the client TLS Secret; required when `pooling:tls.enabled`. */
  certificates?: pulumi.Output<StackCertificates>;
  /** Resources that must exist first: the namespace, PgBouncer and Redis. */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The image built from app-probe/ by Docker and pushed to a registry (../deploy-plan.ts picks which). */
export interface ProbeImageBuild {
  /** The name the image is built and pushed as, `<registry>/pooling-probe:<stack>`. */
  imageName: string;
  /**
   * The registry host the push logs in to. With no username or password in the program, the docker
   * provider takes the credentials Docker itself has for that host (`docker login`): pulumi/pulumi-docker
   * provider/image.go, getRegistryAuth, falls back to the Docker config file's auth for the server.
   */
  registryServer: string;
  /** kind's local registry, when the program runs it: the push waits for it. */
  registry?: LocalRegistry;
  /**
   * Docker build context: the `app-probe/` folder, which ships alone (nothing of infra/ is in it). A
   * relative path is taken from the working directory and handed to the provider absolute.
   */
  buildContext: string;
  /** The Dockerfile, relative to the build context and inside it; default `Dockerfile`. */
  dockerfile?: string;
}

/**
 * An image that is there already, referenced by name: a prebuilt one (`pooling:cluster.probeImage`), or on
 * the local cluster the name the node stands in (no Docker engine builds it). Nothing is built or pushed.
 */
export interface ProbeImageName {
  image: string;
}

export type ProbeAppArgs = ProbeAppCommon & (ProbeImageBuild | ProbeImageName);

/** The Dockerfile the probe image is built from is not a file: nothing is registered. */
export class ProbeDockerfileMissingError extends PoolingError {
  readonly code = "POOLING_PROBE_DOCKERFILE_MISSING";
  constructor(readonly dockerfile: string) {
    super(`The probe image's Dockerfile ${dockerfile} does not exist. Point ProbeAppArgs.dockerfile (relative to buildContext) at it.`);
  }
}

/** The Dockerfile is outside the build context, which must hold everything the image is built from. */
export class ProbeDockerfileOutsideContextError extends PoolingError {
  readonly code = "POOLING_PROBE_DOCKERFILE_OUTSIDE_CONTEXT";
  constructor(
    readonly dockerfile: string,
    readonly context: string,
  ) {
    super(`The probe image's Dockerfile ${dockerfile} is outside its build context ${context}. Keep it in the context (app-probe/ ships alone).`);
  }
}

/**
 * The build context and Dockerfile as absolute paths, the Dockerfile checked to exist inside the context.
 * Absolute because @pulumi/docker resolves a relative `dockerfile` against the program's working
 * directory (infra/, where Pulumi.yaml's `main` is), not the context: pulumi/pulumi-docker#572, closed as
 * by design.
 */
export function probeBuildPaths(buildContext: string, dockerfile = "Dockerfile", isFile = isRegularFile): { context: string; dockerfile: string } {
  const context = resolve(buildContext);
  const file = resolve(context, dockerfile);
  const inside = relative(context, file);
  if (inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)) throw new ProbeDockerfileOutsideContextError(file, context);
  if (!isFile(file)) throw new ProbeDockerfileMissingError(file);
  return { context, dockerfile: file };
}

function isRegularFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

export class ProbeApp extends pulumi.ComponentResource {
  /** The Docker build, when the args asked for one. */
  readonly image: docker.Image | undefined;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;

  constructor(name: string, args: ProbeAppArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before anything is registered: a missing Dockerfile fails `pulumi preview`, not the build.
    const build = "buildContext" in args ? probeBuildPaths(args.buildContext, args.dockerfile) : undefined;
    super("pooling:probe:ProbeApp", name, {}, opts);
    const cfg = args.config;
    const child = { parent: this, dependsOn: args.dependsOn };
    this.image =
      build && "imageName" in args
        ? new docker.Image(`${name}-image`, { imageName: args.imageName, build, registry: { server: args.registryServer } }, { parent: this, dependsOn: args.registry ? [args.registry] : [] })
        : undefined;
    const env = args.secrets.apply((s) => probeEnv(cfg, s));
    const secret = new k8s.core.v1.Secret(`${name}-secret`, probeSecret(cfg, env.apply((e) => e.secret)), child);
    const tls = tlsSecret(name, "client", cfg, args.certificates, child);
    // The digest, not the tag: a rebuilt image rolls the pods, an unchanged one does not.
    const spec = probeDeployment(cfg, this.image?.repoDigest ?? ("image" in args ? args.image : args.imageName), probeEnvLayout(cfg));
    this.deployment = new k8s.apps.v1.Deployment(`${name}-deployment`, spec, { ...child, dependsOn: [secret, ...tls, ...(args.dependsOn ?? [])] });
    this.service = new k8s.core.v1.Service(`${name}-service`, probeService(cfg), child);
    this.registerOutputs({ image: this.image, deployment: this.deployment, service: this.service });
  }
}
