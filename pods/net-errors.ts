/**
 * Errors of the pod network: one class per failure, each with a stable `code`, so the pod runner and
 * its tests branch on the code, never on message text.
 */

import { PoolingError } from "../lib/errors.ts";

export abstract class PodNetworkError extends PoolingError {}

/** Namespaces, veths and nft tables need CAP_NET_ADMIN and CAP_SYS_ADMIN: the runner runs as root. */
export class NotRootError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_NOT_ROOT";
  constructor() {
    super("the pod network needs root (network namespaces, veths and nft tables); run the pod runner as root");
  }
}

/** A run id becomes part of interface names, which the kernel limits to 15 characters. */
export class InvalidRunIdError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_INVALID_RUN_ID";
  constructor(readonly runId: string) {
    super(`run id ${JSON.stringify(runId)} must be 1 to 6 characters of a-z and 0-9 (it is part of interface names, at most 15 characters)`);
  }
}

/** Every pod and Service subnet pair the runner may use overlaps a route already on this machine. */
export class NoFreeSubnetError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_NO_FREE_SUBNET";
  constructor() {
    super("every 198.18.N.0/24 (pods) + 198.19.N.0/24 (Services) pair overlaps an existing route; remove stale runs with PodNetwork.sweepStale()");
  }
}

/** The node's Service range (the API server's) overlaps a route the host already has. */
export class ServiceRangeTakenError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_SERVICE_RANGE_TAKEN";
  constructor(range: string, route: string) {
    super(`the Service range ${range} overlaps the host's route ${route}: the node would send Service traffic there; stop what owns that route or give the API server another --service-cluster-ip-range`);
  }
}

/** Pod or Service addresses of a run are never reused, so a long run can use them up. */
export class AddressesExhaustedError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_ADDRESSES_EXHAUSTED";
  constructor(readonly kind: "pod" | "service", readonly cidr: string) {
    super(`no ${kind} address left in ${cidr} (addresses are not reused within a run); start a new run`);
  }
}

/** A pod or namespace name the kernel-facing names cannot carry (not RFC 1123). */
export class InvalidNameError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_INVALID_NAME";
  constructor(readonly value: string) {
    super(`${JSON.stringify(value)} is not a valid pod or namespace name (RFC 1123: lower-case letters, digits, '-' and '.')`);
  }
}

/** A pod of that name is already on the network. */
export class DuplicatePodError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_DUPLICATE_POD";
  constructor(readonly podName: string) {
    super(`pod ${podName} is already on this network; remove it first`);
  }
}

/** No pod of that name is on the network. */
export class UnknownPodError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_UNKNOWN_POD";
  constructor(readonly podName: string) {
    super(`pod ${podName} is not on this network`);
  }
}

/** The runner only ever sends traffic to addresses of namespaces it made. */
export class ForeignAddressError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_FOREIGN_ADDRESS";
  constructor(readonly address: string) {
    super(`${address} is not a pod, Service or node address of this pod network; the pod runner sends traffic nowhere else`);
  }
}

/** A call on a pod network after it was destroyed. */
export class NetworkDestroyedError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_DESTROYED";
  constructor() {
    super("this pod network was destroyed");
  }
}

/** Applying a pod's nft tables failed; the pod's previous tables stay in place (one transaction). */
export class RulesetApplyError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_RULESET_FAILED";
  constructor(readonly podName: string, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`could not apply the nft tables of pod ${podName}: ${reason}`, options);
  }
}

/** Another live run holds the subnet lock for longer than a run's setup ever takes. */
export class SubnetLockTimeoutError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_LOCK_TIMEOUT";
  constructor(readonly path: string, readonly holder: string) {
    super(`timed out waiting for ${path} (held by ${holder === "" ? "an unknown process" : `pid ${holder}`}); if that process is gone, remove the file`);
  }
}

/** Two live runs with one run id would share names and a state file. */
export class RunIdInUseError extends PodNetworkError {
  readonly code = "POOLING_POD_NET_RUN_ID_IN_USE";
  constructor(readonly runId: string) {
    super(`run id ${runId} is in use (its state file or bridge exists); pick another, or let PodNetwork.create() choose one`);
  }
}
