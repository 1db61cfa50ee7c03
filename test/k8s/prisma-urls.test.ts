/** The Prisma outputs: Prisma 6's query parameters and Prisma 7's adapter options say the same pool. */
import { describe, expect, it } from "vitest";
import { pooledUrl, prismaAdapterOptions, prismaDatabaseUrl } from "../../infra/k8s/manifests/index.ts";
import { devConfig, KNOWN_SECRETS } from "./fixtures.ts";

describe("prismaAdapterOptions and prismaDatabaseUrl", () => {
  it("give the adapter's pool the probe's bound and timeouts from the stack config", () => {
    const cfg = devConfig({ probe: { postgresPoolMax: 7, postgresConnectionTimeout: "2500ms", postgresIdleTimeout: "30s" } });
    expect(prismaAdapterOptions(cfg)).toEqual({ max: 7, connectionTimeoutMillis: 2500, idleTimeoutMillis: 30_000 });
  });

  it("agree on the pool bound and acquire timeout (Prisma 6 counts pool_timeout in whole seconds, rounded up)", () => {
    for (const [max, timeout] of [[20, "5s"], [1, "2500ms"], [300, "1m"]] as const) {
      const cfg = devConfig({ probe: { postgresPoolMax: max, postgresConnectionTimeout: timeout } });
      const options = prismaAdapterOptions(cfg);
      const query = new URL(prismaDatabaseUrl(cfg, KNOWN_SECRETS)).searchParams;
      expect(Number(query.get("connection_limit"))).toBe(options.max);
      expect(Number(query.get("pool_timeout"))).toBe(Math.ceil(options.connectionTimeoutMillis / 1000));
      expect(query.get("pgbouncer")).toBe("true");
    }
  });

  it("build Prisma 6's URL as the pooled URL Prisma 7 gets, plus the query parameters", () => {
    const cfg = devConfig();
    const prisma6 = prismaDatabaseUrl(cfg, KNOWN_SECRETS);
    const plain = pooledUrl(cfg, KNOWN_SECRETS);
    // The pooled URL carries only the TLS parameters (pooling:tls is on by default); Prisma 6's adds its own.
    expect([...new URL(plain).searchParams.keys()]).toEqual(["sslmode", "sslrootcert"]);
    expect(prisma6.startsWith(`${plain}&`)).toBe(true);
    expect(new URL(prisma6).searchParams.get("sslmode")).toBe("verify-full");
  });
});
