/** Errors of the local control plane: each has a stable `code`, so the CLI and tests branch on it, not on text. */
import { InputError, PoolingError } from "../lib/errors.ts";

/** A `POOLING_CLUSTER_*_PORT` value that is not a port, or two ports that are the same. */
export class ClusterPortError extends InputError {
  readonly code = "POOLING_CLUSTER_PORT";
}

/** Another process (not ours) listens on a port the control plane needs. */
export class ClusterPortTakenError extends PoolingError {
  readonly code = "POOLING_CLUSTER_PORT_TAKEN";
  constructor(
    readonly port: number,
    readonly envVar: string,
  ) {
    super(`127.0.0.1:${port} is taken by another process. Stop it, or move this cluster's port with ${envVar}=<free port>`);
  }
}

/** etcd or kube-apiserver has not been built into the toolchain's bin folder. */
export class ClusterBinaryMissingError extends PoolingError {
  readonly code = "POOLING_CLUSTER_BINARY_MISSING";
  constructor(
    readonly binary: string,
    readonly binDir: string,
  ) {
    super(`${binary} is not in ${binDir}: build the control plane with \`npm run toolchain\` (it takes a while once, seconds afterwards)`);
  }
}

/** The supervisor daemon exited before the API server was ready, or it was not ready in time. */
export class ClusterStartError extends PoolingError {
  readonly code = "POOLING_CLUSTER_START";
  constructor(
    reason: string,
    readonly logDir: string,
  ) {
    super(`the cluster did not start: ${reason} (logs: ${logDir})`);
  }
}

/** A process of the cluster did not go away after SIGTERM and SIGKILL. */
export class ClusterStopError extends PoolingError {
  readonly code = "POOLING_CLUSTER_STOP";
  constructor(
    readonly component: string,
    readonly pid: number,
  ) {
    super(`${component} (pid ${pid}) did not stop after SIGTERM and SIGKILL; look at it with \`ps -o pid,stat,cmd -p ${pid}\``);
  }
}

/** The data folder's certificates or keys cannot be read back (hand-edited, truncated). */
export class ClusterPkiError extends PoolingError {
  readonly code = "POOLING_CLUSTER_PKI";
  constructor(
    readonly file: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`${file} cannot be used: ${reason}. Delete the data folder with \`npm run cluster -- down --purge\` and start again`, options);
  }
}
