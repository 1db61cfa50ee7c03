/**
 * What the local stack really runs its servers on, for the config parse (ParseOptions.machine): pool sizes
 * the stack file leaves unset are derived from these, not from the cluster the stack file describes.
 */
import { availableParallelism } from "node:os";
import type { ParseOptions } from "../infra/config/index.ts";

/**
 * PostgreSQL may use every core this process may (availableParallelism honours CPU affinity), and the
 * stack runs exactly one PgBouncer process (the one `pgbouncer` service in services.ts).
 */
export function localMachine(): NonNullable<ParseOptions["machine"]> {
  return { postgresCores: availableParallelism(), pgbouncerReplicas: 1 };
}
