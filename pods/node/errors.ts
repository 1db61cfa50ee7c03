/** The node agent's failures, each with a stable `code` (lib/errors.ts). */
import { InputError, PoolingError } from "../../lib/errors.ts";

/** The Node could not be registered within the deadline (the API server never answered, or refused it). */
export class NodeRegistrationError extends PoolingError {
  readonly code = "POOLING_NODE_REGISTRATION";
}

/** The agent runs pods in Linux namespaces and programs nftables: it needs root. */
export class NodeAgentNotRootError extends PoolingError {
  readonly code = "POOLING_NODE_NOT_ROOT";
}

/** A command line the agent cannot take. */
export class NodeAgentUsageError extends InputError {
  readonly code = "POOLING_NODE_USAGE";
}
