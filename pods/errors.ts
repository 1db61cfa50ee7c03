/**
 * The process side's failures, one class per failure with a stable `code` (undici's lib/core/errors.js
 * shape), so the checks and the CLI can tell them apart without parsing messages.
 */

import { PoolingError } from "../lib/errors.ts";

export abstract class PodsError extends PoolingError {}

/** A manifest the runner cannot take: a missing field, a kind or field it does not support. */
export class ManifestError extends PodsError {
  readonly code = "POOLING_PODS_MANIFEST";
}

/** A stand-in could not be prepared (the probe app's build failed, a binary's version unreadable). */
export class StandInError extends PodsError {
  readonly code = "POOLING_PODS_STAND_IN";
}

/** A volume could not be set up: a ConfigMap, Secret or key it names is missing (kubelet: FailedMount). */
export class VolumeError extends PodsError {
  readonly code = "POOLING_PODS_VOLUME";
}

/** An env source is missing (kubelet: CreateContainerConfigError); the container is not started. */
export class EnvSourceError extends PodsError {
  readonly code = "POOLING_PODS_ENV_SOURCE";
}

/** runAsNonRoot with a uid 0 (kubelet: "container has runAsNonRoot and image will run as root"). */
export class RunAsNonRootError extends PodsError {
  readonly code = "POOLING_PODS_RUN_AS_NON_ROOT";
}

/** The runtime could not start the container (mounts, command not found: the CRI's StartError). */
export class ContainerStartError extends PodsError {
  readonly code = "POOLING_PODS_CONTAINER_START";
  constructor(
    message: string,
    readonly exitCode: number | null = null,
  ) {
    super(message);
  }
}

/** An exec into a container that is not running, or whose namespaces could not be entered. */
export class ExecError extends PodsError {
  readonly code = "POOLING_PODS_EXEC";
}

/** No pod or container of that name. */
export class NotFoundError extends PodsError {
  readonly code = "POOLING_PODS_NOT_FOUND";
}

/** `waitReady` ran out of time; the message names every pod that is not Ready and why. */
export class NotReadyError extends PodsError {
  readonly code = "POOLING_PODS_NOT_READY";
}

/** A call on a cluster that is stopping or stopped. */
export class ClusterStoppedError extends PodsError {
  readonly code = "POOLING_PODS_STOPPED";
}
