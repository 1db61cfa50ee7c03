import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { derivedDefaultPoolSize } from "../../infra/config/pools.ts";
import { PROJECT_DIR } from "../../local/stack.ts";
import { pgbouncerConfig, query, useStack, waitFor } from "./fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-reload-"));
const stackFile = join(dir, "Pulumi.reload.yaml");
copyFileSync(join(PROJECT_DIR, "Pulumi.dev.yaml"), stackFile);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ORIGINAL = readFileSync(stackFile, "utf8");

/** Sets pooling:<section>.<key> in the stack file, added or replaced, as `pulumi config set --path` would. */
function setKey(section: string, key: string, value: number): void {
  const doc = parseDocument(readFileSync(stackFile, "utf8"));
  doc.setIn(["config", `pooling:${section}`, key], value);
  writeFileSync(stackFile, doc.toString());
}

/** The stack file as the test found it; the running stack picks it up through its watcher. */
const restoreStackFile = () => writeFileSync(stackFile, ORIGINAL);

/** Queries through PgBouncer in a loop until stopped; counts what failed. */
function steadyLoad(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  let stop = false;
  const errors: string[] = [];
  let done = 0;
  /** Resolves once `n` more queries than now have succeeded: the load is flowing. */
  const more = (n: number, what: string) => {
    const target = done + n;
    return waitFor(what, () => (done >= target ? true : undefined), 20_000, 10);
  };
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
    more,
    async finish() {
      stop = true;
      await Promise.all(workers);
      await pool.end();
      return { done, errors };
    },
  };
}

/**
 * Each test changes the stack file and puts it back as it found it, waiting until the stack runs the
 * original again, so the tests pass in any order (vitest --sequence.shuffle).
 */
describe("a change to the stack file while the local stack runs", () => {
  const stack = useStack({ configFile: stackFile, watch: true });
  // The dev stack leaves the pool to the derivation: from this machine's cores and its one PgBouncer.
  const derived = derivedDefaultPoolSize(String(availableParallelism()), 1);
  const poolSize = async () => (await pgbouncerConfig(stack().pgbouncer.adminUrl)).default_pool_size;
  const backToOriginal = async () => {
    restoreStackFile();
    await waitFor(`default_pool_size back to ${derived}`, async () => ((await poolSize()) === String(derived) ? true : undefined));
    await waitFor("max_connections back to 200", async () => ((await query<{ max_connections: string }>(stack().postgres.url, "SHOW max_connections"))[0]?.max_connections === "200" ? true : undefined), 60_000);
  };

  it("runs PgBouncer with the pool derived from this machine's cores and its one PgBouncer, not the stack file's cluster", async () => {
    const s = stack();
    expect(s.config.pgbouncer.defaultPoolSize).toBe(derived);
    expect(await poolSize()).toBe(String(derived));
  });

  it("reloads PgBouncer with the new defaultPoolSize and drops no client", async () => {
    const s = stack();
    const pid = s.pgbouncer.pid;
    const resized = derived + 10;
    const load = steadyLoad(s.pgbouncer.url);
    try {
      await load.more(20, "the load to flow before the change");
      setKey("pgbouncer", "defaultPoolSize", resized);
      await waitFor(`default_pool_size ${resized} in SHOW CONFIG`, async () => ((await poolSize()) === String(resized) ? true : undefined));
      await load.more(20, "the load to go on after the reload");
    } finally {
      const { errors } = await load.finish();
      expect(errors).toEqual([]);
      await backToOriginal();
    }
    expect(s.pgbouncer.pid).toBe(pid);
  });

  it("keeps running the previous config when the new one is invalid, and says why", async () => {
    const s = stack();
    const before = await poolSize();
    try {
      setKey("pgbouncer", "defaultPoolSize", 400);
      const result = await s.reloadConfig();
      expect(result.ok).toBe(false);
      expect(result.ok ? [] : result.problems.join("\n")).toMatch(/pooling:pgbouncer\.defaultPoolSize = 400: the PgBouncer pools need more server connections/);
      expect(await poolSize()).toBe(before);
    } finally {
      await backToOriginal();
    }
  });

  it("restarts PostgreSQL for a setting it cannot reload, and the pooled URL works afterwards", async () => {
    const s = stack();
    const pid = s.postgres.pid;
    try {
      setKey("postgres", "maxConnections", 210);
      // The file watcher applies it; wait for the new server rather than racing it with reloadConfig().
      await waitFor("max_connections 210", async () => ((await query<{ max_connections: string }>(s.postgres.url, "SHOW max_connections"))[0]?.max_connections === "210" ? true : undefined));
      expect(s.postgres.pid).not.toBe(pid);
      const rows = await waitFor("a pooled query after the restart", () => query<{ one: number }>(s.pgbouncer.url, "SELECT 1 AS one"));
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await backToOriginal();
    }
  });

});
