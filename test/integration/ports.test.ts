/** The local stack listens where the stack file says, so an app's .env stays valid across restarts. */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { distinctFreePorts } from "../../local/ports.ts";
import { startLocalStack, type LocalStack } from "../../local/stack.ts";
import { query } from "./fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-ports-"));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stack file whose four ports are ones the kernel says are free now (the defaults may be taken here). */
async function portsOverrides() {
  const [postgres, pgbouncer, redis, probe] = await distinctFreePorts(4);
  return {
    ports: { postgres: postgres!, pgbouncer: pgbouncer!, redis: redis!, probe: probe! },
    overrides: { postgres: { port: postgres }, pgbouncer: { port: pgbouncer }, redis: { port: redis }, probe: { port: probe } },
  };
}

async function withStack<T>(opts: Parameters<typeof startLocalStack>[0], fn: (s: LocalStack) => Promise<T>): Promise<T> {
  const s = await startLocalStack({ installMissing: false, ...opts });
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

describe("local stack ports", () => {
  it("listens on the stack file's ports when they are free, and on the same ones after a restart", async () => {
    const { ports, overrides } = await portsOverrides();
    const dataDir = join(dir, "stable");
    const seen = async (s: LocalStack) => ({ postgres: s.postgres.port, pgbouncer: s.pgbouncer.port, redis: s.redis.port, probe: Number(new URL(s.probe!.url).port) });
    const first = await withStack({ dataDir, overrides, probe: true }, seen);
    expect(first).toEqual(ports);
    const second = await withStack({ dataDir, overrides, probe: true }, async (s) => {
      expect(await query(s.pgbouncer.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
      return seen(s);
    });
    expect(second).toEqual(ports);
  });

  it("moves a port another process holds to a free one and says which and why", async () => {
    const { ports, overrides } = await portsOverrides();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(ports.pgbouncer, "127.0.0.1", resolve));
    const log: string[] = [];
    try {
      await withStack({ dataDir: join(dir, "moved"), overrides, log: (m) => log.push(m) }, async (s) => {
        expect(s.pgbouncer.port).not.toBe(ports.pgbouncer);
        expect(s.postgres.port).toBe(ports.postgres);
        expect(s.redis.port).toBe(ports.redis);
        expect(log).toContain(
          `pooling:pgbouncer.port ${ports.pgbouncer} is already in use on 127.0.0.1 by another process, so PgBouncer listens on 127.0.0.1:${s.pgbouncer.port} for this run ` +
            "(free that port, or set another one in the stack file, to keep the address stable)",
        );
        expect(await query(s.pgbouncer.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
      });
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it("puts every server on a fresh free port with freePorts, whatever the stack file says", async () => {
    const { ports, overrides } = await portsOverrides();
    await withStack({ dataDir: join(dir, "free"), overrides, freePorts: true }, async (s) => {
      expect(s.postgres.port).not.toBe(ports.postgres);
      expect(s.pgbouncer.port).not.toBe(ports.pgbouncer);
      expect(s.redis.port).not.toBe(ports.redis);
      expect(await query(s.pgbouncer.url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
    });
  });
});
