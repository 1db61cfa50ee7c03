/**
 * Errors of the pod network: one class per failure, each with a stable `code`, so the pod runner and
 * its tests branch on the code, never on message text.
 */

export class PodNetworkError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message);
    this.name = new.target.name;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** Namespaces, veths and nft tables need CAP_NET_ADMIN and CAP_SYS_ADMIN: the runner runs as root. */
export class NotRootError extends PodNetworkError {
  constructor() {
    super("POD_NET_NOT_ROOT", "the pod network needs root (network namespaces, veths and nft tables); run the pod runner as root");
  }
}

/** A run id becomes part of interface names, which the kernel limits to 15 characters. */
export class InvalidRunIdError extends PodNetworkError {
  constructor(readonly runId: string) {
    super("POD_NET_INVALID_RUN_ID", `run id ${JSON.stringify(runId)} must be 1 to 6 characters of a-z and 0-9 (it is part of interface names, at most 15 characters)`);
  }
}

export class NoFreeSubnetError extends PodNetworkError {
  constructor() {
    super("POD_NET_NO_FREE_SUBNET", "every 198.18.N.0/24 (pods) + 198.19.N.0/24 (Services) pair overlaps an existing route; remove stale runs with PodNetwork.sweepStale()");
  }
}

/** The node's Service range (the API server's) overlaps a route the host already has. */
export class ServiceRangeTakenError extends PodNetworkError {
  constructor(range: string, route: string) {
    super("POD_NET_SERVICE_RANGE_TAKEN", `the Service range ${range} overlaps the host's route ${route}: the node would send Service traffic there; stop what owns that route or give the API server another --service-cluster-ip-range`);
  }
}

/** Pod or Service addresses of a run are never reused, so a long run can use them up. */
export class AddressesExhaustedError extends PodNetworkError {
  constructor(readonly kind: "pod" | "service", readonly cidr: string) {
    super("POD_NET_ADDRESSES_EXHAUSTED", `no ${kind} address left in ${cidr} (addresses are not reused within a run); start a new run`);
  }
}

export class InvalidNameError extends PodNetworkError {
  constructor(readonly value: string) {
    super("POD_NET_INVALID_NAME", `${JSON.stringify(value)} is not a valid pod or namespace name (RFC 1123: lower-case letters, digits, '-' and '.')`);
  }
}

export class DuplicatePodError extends PodNetworkError {
  constructor(readonly podName: string) {
    super("POD_NET_DUPLICATE_POD", `pod ${podName} is already on this network; remove it first`);
  }
}

export class UnknownPodError extends PodNetworkError {
  constructor(readonly podName: string) {
    super("POD_NET_UNKNOWN_POD", `pod ${podName} is not on this network`);
  }
}

/** The runner only ever sends traffic to addresses of namespaces it made. */
export class ForeignAddressError extends PodNetworkError {
  constructor(readonly address: string) {
    super("POD_NET_FOREIGN_ADDRESS", `${address} is not a pod, Service or node address of this pod network; the pod runner sends traffic nowhere else`);
  }
}

export class NetworkDestroyedError extends PodNetworkError {
  constructor() {
    super("POD_NET_DESTROYED", "this pod network was destroyed");
  }
}

/** A command (ip, nft, nsenter) exited non-zero or could not start. */
export class CommandFailedError extends PodNetworkError {
  constructor(
    readonly command: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super("POD_NET_COMMAND_FAILED", `${command.join(" ")} failed (exit ${exitCode ?? "none"}): ${stderr.trim() === "" ? "no output" : stderr.trim()}`, options);
  }
}

/** Applying a pod's nft tables failed; the pod's previous tables stay in place (one transaction). */
export class RulesetApplyError extends PodNetworkError {
  constructor(readonly podName: string, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super("POD_NET_RULESET_FAILED", `could not apply the nft tables of pod ${podName}: ${reason}`, options);
  }
}

/** Another live run holds the subnet lock for longer than a run's setup ever takes. */
export class SubnetLockTimeoutError extends PodNetworkError {
  constructor(readonly path: string, readonly holder: string) {
    super("POD_NET_LOCK_TIMEOUT", `timed out waiting for ${path} (held by ${holder === "" ? "an unknown process" : `pid ${holder}`}); if that process is gone, remove the file`);
  }
}

/** Two live runs with one run id would share names and a state file. */
export class RunIdInUseError extends PodNetworkError {
  constructor(readonly runId: string) {
    super("POD_NET_RUN_ID_IN_USE", `run id ${runId} is in use (its state file or bridge exists); pick another, or let PodNetwork.create() choose one`);
  }
}
