/**
 * Certificate rotation on the running local stack: under probe load, the renewal timer (leaves living
 * 1 minute, renewed 30 s before their end) and an explicit rotation each replace every leaf, every
 * server serves the new one without a restart, and not one probe request fails. A set that is expired or
 * whose key is not its certificate's is refused before anything is written or reloaded.
 */
import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { Agent, request } from "undici";
import { describe, expect, it } from "vitest";
import { CertificateError } from "../../lib/pki.ts";
import type { LocalStack } from "../../local/stack.ts";
import { useStack, waitFor } from "../integration/fixture.ts";
import { leafFromStackCa, pgPeerCertificate, redisPeerCertificate } from "./helpers.ts";
import { join } from "node:path";

const OVERRIDES = {
  tls: { lifetime: "1m", renewBefore: "30s" },
  // Short-lived connections, so the load opens new TLS sessions after each rotation: PgBouncer to
  // PostgreSQL every 2 s, the probe's pool to PgBouncer whenever a client idles for 1 s.
  pgbouncer: { serverLifetime: "2s", serverIdleTimeout: "1s", minPoolSize: 0 },
  probe: { postgresIdleTimeout: "1s" },
};

/** The serial of the leaf each server shows a new connection now, and of the current generation's files. */
async function served(s: LocalStack) {
  return {
    postgres: (await pgPeerCertificate(s.postgres.appUrl)).serialNumber,
    pgbouncer: (await pgPeerCertificate(s.pgbouncer.url)).serialNumber,
    redis: (await redisPeerCertificate(s.redis.port, s.tls.caFile)).serialNumber,
  };
}

function onDisk(s: LocalStack) {
  const serial = (name: string) => new X509Certificate(readFileSync(join(s.dataDir, "tls", `g${s.tls.generation}`, `${name}.crt`))).serialNumber;
  return { postgres: serial("postgres"), pgbouncer: serial("pgbouncer"), redis: serial("redis") };
}

/** Probe requests in `concurrency` loops until `stop()`; counts every answer that is not a 200. */
function probeLoad(url: string, concurrency: number) {
  const agent = new Agent({ connections: concurrency });
  const counts = { ok: 0, failed: 0, failures: [] as string[] };
  let running = true;
  const loops = Array.from({ length: concurrency }, async (_, i) => {
    for (let n = 0; running; n++) {
      try {
        const res = await request(`${url}/probe?key=rot-${i}-${n % 5}`, { dispatcher: agent });
        const body = await res.body.text();
        if (res.statusCode === 200) counts.ok++;
        else {
          counts.failed++;
          counts.failures.push(`${res.statusCode} ${body.slice(0, 200)}`);
        }
      } catch (err) {
        counts.failed++;
        counts.failures.push((err as Error).message);
      }
    }
  });
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(loops);
      await agent.close();
    },
  };
}

describe("certificate rotation on the local stack", () => {
  const stack = useStack({ probe: true, overrides: OVERRIDES });

  it("renews every leaf before it expires, under probe load, and fails no request", async () => {
    const s = stack();
    const first = await served(s);
    expect(first).toEqual(onDisk(s));
    const load = probeLoad(s.probe!.url, 8);
    try {
      // The renewal timer's own rotation (due 30 s after issue), then one asked for.
      await waitFor("the renewal timer to rotate the leaves", async () => (s.tls.renewals >= 1 ? true : undefined), 60_000, 500);
      const timed = await served(s);
      expect(timed).toEqual(onDisk(s));
      for (const server of ["postgres", "pgbouncer", "redis"] as const) expect(timed[server]).not.toBe(first[server]);
      const before = s.tls.generation;
      const result = await s.rotateCertificates();
      expect(result.generation).toBe(before + 1);
      const asked = await served(s);
      expect(asked).toEqual(onDisk(s));
      // Enough traffic after the last rotation that new TLS sessions were made with the new leaves.
      const okAtRotation = load.counts.ok;
      await waitFor("probe traffic after the rotation", async () => (load.counts.ok >= okAtRotation + 200 ? true : undefined), 30_000, 100);
    } finally {
      await load.stop();
    }
    expect(load.counts.failures).toEqual([]);
    expect(load.counts.ok).toBeGreaterThan(200);
    expect(s.services.postgres?.restarts).toBe(0);
  }, 120_000);

  it("refuses an expired set before writing or reloading anything, with its code", async () => {
    const s = stack();
    const generation = s.tls.generation;
    const servedBefore = await served(s);
    const expired = await leafFromStackCa(join(s.dataDir, "tls"), { usage: "server", now: new Date(Date.now() - 7 * 86_400_000), lifetimeMs: 86_400_000 });
    const fresh = await leafFromStackCa(join(s.dataDir, "tls"), { usage: "server", now: new Date(), lifetimeMs: 60_000 });
    const err = await s.rotateCertificates({ postgres: expired, pgbouncer: fresh, redis: fresh, client: fresh }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as CertificateError).code).toBe("POOLING_TLS_CERT_EXPIRED");
    expect((err as Error).message).toMatch(/^the postgres certificate: expired at .*Nothing was installed or reloaded$/);
    expect(s.tls.generation).toBe(generation);
    expect(await served(s)).toEqual(servedBefore);
  });

  it("refuses a key that is not its certificate's before writing or reloading anything, with its code", async () => {
    const s = stack();
    const generation = s.tls.generation;
    const a = await leafFromStackCa(join(s.dataDir, "tls"), { usage: "server", now: new Date(), lifetimeMs: 60_000 });
    const b = await leafFromStackCa(join(s.dataDir, "tls"), { usage: "server", now: new Date(), lifetimeMs: 60_000 });
    const err = await s.rotateCertificates({ postgres: a, pgbouncer: a, redis: { cert: a.cert, key: b.key }, client: a }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as CertificateError).code).toBe("POOLING_TLS_KEY_MISMATCH");
    expect((err as Error).message).toMatch(/^the redis certificate: the private key is not the certificate's/);
    expect(s.tls.generation).toBe(generation);
  });
});
