/**
 * Every version the toolchain builds, in one place. The Pulumi CLI, its language host and the Kubernetes
 * provider follow the lockfile, so bumping @pulumi/pulumi or @pulumi/kubernetes changes what is built;
 * the control plane has no npm package to follow and is pinned here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PoolingError } from "../lib/errors.ts";
import { ETCD_VERSION, KUBERNETES_RELEASE } from "./recipes/kubernetes.ts";

export interface ToolchainVersions {
  /** @pulumi/pulumi's version: the CLI (pkg/v3) and the SDK the language host is built against (sdk/v3). */
  readonly pulumi: string;
  /** @pulumi/kubernetes's version: pulumi-resource-kubernetes. */
  readonly kubernetesProvider: string;
  /** k8s.io/kubernetes release: kube-apiserver, kube-controller-manager, kube-scheduler. */
  readonly kubernetes: string;
  /** go.etcd.io/etcd/server/v3 release. */
  readonly etcd: string;
  /** prometheus-community/pgbouncer_exporter release, as the Kubernetes sidecar's image tag. */
  readonly pgbouncerExporter: string;
}

/**
 * The control plane's pins: the newest k8s.io/kubernetes and etcd 3.6 the module proxy serves whose
 * go.mod asks for no Go newer than the machines' 1.26 (so no toolchain download); why each, in
 * toolchain/recipes/kubernetes.ts.
 */
export const CONTROL_PLANE = { kubernetes: KUBERNETES_RELEASE, etcd: ETCD_VERSION } as const;

/** The exporters Debian does not package, at the versions the Kubernetes manifests deploy. */
export const EXPORTERS = { pgbouncerExporter: "0.10.2" } as const;

/** package-lock.json cannot be read, or lacks a package the toolchain follows. */
export class LockfileError extends PoolingError {
  readonly code = "POOLING_TOOLCHAIN_LOCKFILE";
}

const FOLLOWED = { pulumi: "@pulumi/pulumi", kubernetesProvider: "@pulumi/kubernetes" } as const;

/** The versions npm installed, read from a lockfile's text (lockfileVersion 2 or 3: the `packages` map). */
export function lockedVersions(lockfileText: string, file = "package-lock.json"): Pick<ToolchainVersions, keyof typeof FOLLOWED> {
  let lock: { packages?: Record<string, { version?: string }> };
  try {
    lock = JSON.parse(lockfileText) as typeof lock;
  } catch (err) {
    throw new LockfileError(`${file} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const out: Record<string, string> = {};
  for (const [key, pkg] of Object.entries(FOLLOWED)) {
    const version = lock.packages?.[`node_modules/${pkg}`]?.version;
    if (!version) throw new LockfileError(`${file} has no ${pkg}: the toolchain builds the Pulumi binaries at the versions npm installed. Run \`npm install\` first.`);
    out[key] = version;
  }
  return out as Pick<ToolchainVersions, keyof typeof FOLLOWED>;
}

export function toolchainVersions(projectDir: string): ToolchainVersions {
  const file = join(projectDir, "package-lock.json");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new LockfileError(`${file} could not be read: ${(err as Error).message}`, { cause: err });
  }
  return { ...lockedVersions(text, file), ...CONTROL_PLANE, ...EXPORTERS };
}
