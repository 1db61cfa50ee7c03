/**
 * Prisma 7 through PgBouncer: the client talks through @prisma/adapter-pg over a node-postgres Pool that
 * this module owns, so its bound and acquire timeout are the ones the stack's connection budget counted
 * (the stack output `prismaAdapterOptions`), and its counts can be watched.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client.ts";

/** node-postgres Pool options, as the stack output `prismaAdapterOptions` gives them. */
export interface AdapterPoolOptions {
  /** Connections this process opens to PgBouncer at most (`pooling:probe.postgresPoolMax`). */
  max: number;
  /** Waiting for a free connection fails after this (`pooling:probe.postgresConnectionTimeout`). */
  connectionTimeoutMillis: number;
  /** An idle connection is closed after this (`pooling:probe.postgresIdleTimeout`). */
  idleTimeoutMillis: number;
}

export interface Database {
  prisma: PrismaClient;
  /** The adapter's pool: `totalCount`, `idleCount`, `waitingCount`. */
  pool: pg.Pool;
  /** Disconnects Prisma, then ends the pool; a second call waits for the first. */
  close(): Promise<void>;
}

/**
 * `connectionString` is the pooled URL (PgBouncer, transaction mode) with no Prisma 6 query parameters:
 * Prisma 7 ignores `connection_limit` and `pool_timeout`; the pool takes its size from `options`.
 */
export function openDatabase(connectionString: string, options: AdapterPoolOptions): Database {
  const pool = new pg.Pool({ connectionString, ...options });
  // A pooled connection that breaks while idle (PgBouncer restarted) is dropped by the pool; without a
  // listener its 'error' event would end the process.
  pool.on("error", () => {});
  // No statementNameGenerator: the adapter then uses unnamed statements, which PgBouncer's transaction
  // mode passes through on every version (named ones need max_prepared_statements, PgBouncer 1.21+).
  const adapter = new PrismaPg(pool, { disposeExternalPool: false });
  // Prisma starts a transaction (batch or interactive) by taking a connection from this pool, and by
  // default gives up after 2 s, well before the pool's own acquire timeout: under load that fails
  // transactions the pool would have served. The budget's timeout bounds both.
  const prisma = new PrismaClient({ adapter, transactionOptions: { maxWait: options.connectionTimeoutMillis } });
  let closing: Promise<void> | undefined;
  return {
    prisma,
    pool,
    close() {
      closing ??= prisma.$disconnect().finally(() => pool.end());
      return closing;
    },
  };
}
