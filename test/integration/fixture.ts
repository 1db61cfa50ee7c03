/**
 * Starts a real local stack for a test file and always stops it, also when a test fails. Each file gets
 * its own data folder and free ports, so files can run side by side.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import pg from "pg";
import { startLocalStack, type LocalStack, type LocalStackOptions } from "../../local/stack.ts";

export function useStack(opts: Omit<LocalStackOptions, "dataDir" | "fresh"> = {}): () => LocalStack {
  let stack: LocalStack | undefined;
  let dir: string | undefined;
  const logs: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pooling-it-"));
    // As root, the servers run as the postgres user, who must be able to enter this folder.
    chmodSync(dir, 0o755);
    stack = await startLocalStack({ installMissing: false, freePorts: true, ...opts, dataDir: join(dir, "data"), fresh: true, log: (m) => logs.push(m) });
  });
  afterAll(async () => {
    try {
      await stack?.stop();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
  return () => {
    if (!stack) throw new Error(`the local stack did not start; its log:\n${logs.join("\n")}`);
    return stack;
  };
}

/** One statement on a fresh connection. */
export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  // A server that goes away between the login and the query (a PostgreSQL restart a test is waiting on)
  // sends a FATAL that pg emits as an 'error' event when no query is running; unheard, it would be an
  // uncaught exception. The query below fails on the closed connection instead, and the caller retries.
  client.on("error", () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** PgBouncer's SHOW CONFIG as a key → value map. */
export async function pgbouncerConfig(adminUrl: string): Promise<Record<string, string>> {
  const rows = await query<{ key: string; value: string }>(adminUrl, "SHOW CONFIG");
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export { waitFor } from "../../lib/wait.ts";

export { isAlive } from "../../lib/proc.ts";
