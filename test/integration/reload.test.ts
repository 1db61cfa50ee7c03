import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { derivedDefaultPoolSize } from "../../infra/config/pools.ts";
import { PROJECT_DIR } from "../../local/stack.ts";
import { pgbouncerConfig, query, useStack, waitFor } from "./fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-reload-"));
const stackFile = join(dir, "Pulumi.reload.yaml");
copyFileSync(join(PROJECT_DIR, "Pulumi.dev.yaml"), stackFile);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function edit(from: RegExp, to: string): void {
  const text = readFileSync(stackFile, "utf8");
  if (!from.test(text)) throw new Error(`the stack file has no ${from}`);
  writeFileSync(stackFile, text.replace(from, to));
}

/** Queries through PgBouncer in a loop until stopped; counts what failed. */
function steadyLoad(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  let stop = false;
  const errors: string[] = [];
  let done = 0;
  const workers = Array.from({ length: 10 }, async () => {
    while (!stop) {
      try {
        await pool.query("SELECT pg_sleep(0.005)");
        done++;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  });
  return {
    async finish() {
      stop = true;
      await Promise.all(workers);
      await pool.end();
      return { done, errors };
    },
  };
}

describe("a change to the stack file while the local stack runs", () => {
  const stack = useStack({ configFile: stackFile, watch: true });

  // The dev stack leaves the pool to the derivation: the test sets it, to a value that differs from it.
  let resized = 0;

  it("runs PgBouncer with the pool derived from this machine's cores and its one PgBouncer, not the stack file's cluster", async () => {
    const s = stack();
    const pool = derivedDefaultPoolSize(String(availableParallelism()), 1);
    expect(s.config.pgbouncer.defaultPoolSize).toBe(pool);
    expect((await pgbouncerConfig(s.pgbouncer.adminUrl)).default_pool_size).toBe(String(pool));
  });

  it("reloads PgBouncer with the new defaultPoolSize and drops no client", async () => {
    const s = stack();
    const pid = s.pgbouncer.pid;
    resized = s.config.pgbouncer.defaultPoolSize + 10;
    const load = steadyLoad(s.pgbouncer.url);
    await new Promise((r) => setTimeout(r, 300));
    edit(/^( *)pooling:pgbouncer:\n/m, `$&$1  defaultPoolSize: ${resized}\n`);
    const seen = await waitFor(`default_pool_size ${resized} in SHOW CONFIG`, async () =>
      (await pgbouncerConfig(s.pgbouncer.adminUrl)).default_pool_size === String(resized) ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 300));
    const { done, errors } = await load.finish();
    expect(seen).toBe(true);
    expect(errors).toEqual([]);
    expect(done).toBeGreaterThan(0);
    expect(s.pgbouncer.pid).toBe(pid);
  });

  it("keeps running the previous config when the new one is invalid, and says why", async () => {
    const s = stack();
    edit(new RegExp(`defaultPoolSize: ${resized}\\b`), "defaultPoolSize: 400");
    const result = await s.reloadConfig();
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems.join("\n")).toMatch(/pooling:pgbouncer\.defaultPoolSize = 400: the PgBouncer pools need more server connections/);
    expect((await pgbouncerConfig(s.pgbouncer.adminUrl)).default_pool_size).toBe(String(resized));
    edit(/defaultPoolSize: 400/, `defaultPoolSize: ${resized}`);
  });

  it("restarts PostgreSQL for a setting it cannot reload, and the pooled URL works afterwards", async () => {
    const s = stack();
    const pid = s.postgres.pid;
    edit(/maxConnections: 200/, "maxConnections: 210");
    // The file watcher applies it; wait for the new server rather than racing it with reloadConfig().
    const [row] = await waitFor("max_connections 210", async () => {
      const rows = await query<{ max_connections: string }>(s.postgres.url, "SHOW max_connections");
      return rows[0]?.max_connections === "210" ? rows : undefined;
    });
    expect(row!.max_connections).toBe("210");
    expect(s.postgres.pid).not.toBe(pid);
    const rows = await waitFor("a pooled query after the restart", () => query<{ one: number }>(s.pgbouncer.url, "SELECT 1 AS one"));
    expect(rows).toEqual([{ one: 1 }]);
  });
});
