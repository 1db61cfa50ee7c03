/** infra/index.ts, the Pulumi program, under mocks with the dev stack's config. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type * as Program from "../../infra/index.ts";
import { connectionBudget } from "../../infra/config/index.ts";
import { devConfig, devRaw, engineConfig } from "./fixtures.ts";
import { recorded, stashed, setRecordingMocks, settled, valueOf } from "./pulumi-mocks.ts";

let program: typeof Program;

beforeAll(async () => {
  await setRecordingMocks();
  pulumi.runtime.setAllConfig(engineConfig(devRaw()));
  program = await import("../../infra/index.ts");
  await settled();
});

describe("the program with the dev stack", () => {
  it("registers the whole stack through one Kubernetes provider that updates ConfigMaps in place", () => {
    const providers = recorded.filter((r) => r.type === "pulumi:providers:kubernetes");
    expect(providers).toHaveLength(1);
    expect(providers[0]!.inputs).toMatchObject({ enableConfigMapMutable: "true" });
    expect(recorded.filter((r) => r.custom).length).toBeGreaterThanOrEqual(30);
  });

  it("pins the Kubernetes provider to the kind cluster's context, whatever kubectl's current one is", () => {
    const providers = recorded.filter((r) => r.type === "pulumi:providers:kubernetes");
    expect(providers.map((p) => p.inputs.context)).toEqual(["kind-pooling"]);
    expect(providers[0]!.inputs).toMatchObject({ enableConfigMapMutable: "true", enableSecretMutable: "true" });
  });

  it("registers no prometheus-operator object: the dev stack does not say the cluster has the operator", () => {
    expect(recorded.filter((r) => r.type.startsWith("kubernetes:monitoring.coreos.com/"))).toEqual([]);
  });

  it("exports the namespace and the connection budget", async () => {
    expect(await valueOf(program.namespace)).toBe("pooling");
    expect(program.connectionBudget).toEqual(connectionBudget(devConfig()));
  });

  it("exports the database and Redis URLs as secrets", async () => {
    for (const out of [program.databaseUrl, program.pooledUrl, program.directUrl, program.redisUrl]) expect(await pulumi.isSecret(out)).toBe(true);
    const app = stashed<{ password: string }>("pooling-app-secret").password;
    const tls = "sslmode=verify-full&sslrootcert=%2Fetc%2Fpooling%2Ftls%2Fca.crt";
    expect(await valueOf(program.databaseUrl)).toBe(
      `postgresql://app:${app}@pgbouncer.pooling.svc.cluster.local:6432/app?${tls}&pgbouncer=true&connection_limit=20&pool_timeout=5`,
    );
    expect(await valueOf(program.pooledUrl)).toBe(`postgresql://app:${app}@pgbouncer.pooling.svc.cluster.local:6432/app?${tls}`);
    expect(await valueOf(program.directUrl)).toBe(`postgresql://app:${app}@postgres.pooling.svc.cluster.local:5432/app?${tls}`);
    expect(await valueOf(program.redisUrl)).toBe(`rediss://default:${stashed<string>("pooling-redis-secret")}@redis.pooling.svc.cluster.local:6379`);
  });

  it("exports the CA certificate as a plain output and says which Secret and path clients mount it from", async () => {
    expect(await pulumi.isSecret(program.caCertificate!)).toBe(false);
    expect(await valueOf(program.caCertificate!)).toBe(stashed<{ cert: string }>("pooling-tls-ca").cert);
    expect(program.clientTls).toEqual({ secret: "pooling-client-tls", mountPath: "/etc/pooling/tls" });
  });

  it("exports Prisma 7's adapter options with the same pool bound and timeout as Prisma 6's query parameters", async () => {
    expect(program.prismaAdapterOptions).toEqual({ max: 20, connectionTimeoutMillis: 5000, idleTimeoutMillis: 10_000 });
    const query = new URL(await valueOf(program.databaseUrl)).searchParams;
    expect(Number(query.get("connection_limit"))).toBe(program.prismaAdapterOptions.max);
    expect(Number(query.get("pool_timeout")) * 1000).toBe(program.prismaAdapterOptions.connectionTimeoutMillis);
  });

  it("exports the port-forward command for the probe", async () => {
    expect(await valueOf(program.probeUrl)).toMatch(/^kubectl --context kind-pooling -n pooling port-forward svc\/app-probe 8080:8080 /);
  });
});
