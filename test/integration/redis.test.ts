import { readFileSync } from "node:fs";
import { connect } from "node:tls";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { useStack } from "./fixture.ts";

describe("Redis with the rendered redis.conf", () => {
  const stack = useStack();

  async function withRedis<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
    const tls = { ca: readFileSync(stack().tls.caFile, "utf8") };
    const r = new Redis(url, { lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, tls });
    r.on("error", () => undefined);
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  }

  it("runs with the configured limits", async () => {
    const s = stack();
    const got = await withRedis(s.redis.url, async (r) => ({
      maxclients: (await r.config("GET", "maxclients")) as string[],
      maxmemory: (await r.config("GET", "maxmemory")) as string[],
      policy: (await r.config("GET", "maxmemory-policy")) as string[],
      timeout: (await r.config("GET", "timeout")) as string[],
      appendonly: (await r.config("GET", "appendonly")) as string[],
    }));
    expect(got.maxclients[1]).toBe(String(s.config.redis.maxClients));
    expect(got.maxmemory[1]).toBe(String(s.config.redis.maxMemory));
    expect(got.policy[1]).toBe(s.config.redis.maxMemoryPolicy);
    expect(got.timeout[1]).toBe(String(s.config.redis.timeout / 1000));
    expect(got.appendonly[1]).toBe(s.config.redis.appendOnly ? "yes" : "no");
  });

  it("refuses a command from a client that did not authenticate", async () => {
    const s = stack();
    // A raw TLS socket: what any client sees before AUTH, with no library behaviour in between.
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect({ port: s.redis.port, host: "127.0.0.1", ca: readFileSync(s.tls.caFile, "utf8") }, () => sock.write("SET k v\r\n"));
      sock.once("data", (d) => {
        resolve(d.toString());
        sock.destroy();
      });
      sock.once("error", reject);
    });
    expect(reply).toMatch(/^-NOAUTH Authentication required/);
  });
});
