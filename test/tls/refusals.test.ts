/**
 * What the servers of the local stack refuse, with TLS on: plaintext to PgBouncer, PostgreSQL and Redis,
 * a client that trusts another CA (verify-full fails), and, with client certificates required, a client
 * certificate that expired. Each against the real servers, each with a real client.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCaPem } from "../../lib/pki.ts";
import { useStack } from "../integration/fixture.ts";
import { leafFromStackCa, pgLogin, plaintextRedisPing, redisAttempt, redisTlsPing } from "./helpers.ts";

const DAY_MS = 86_400_000;

function psql(url: string): { status: number | null; stderr: string } {
  const r = spawnSync("psql", [url, "-X", "-A", "-t", "-c", "SELECT 1"], { encoding: "utf8", env: { PATH: process.env.PATH } });
  return { status: r.status, stderr: r.stderr };
}

describe("with TLS on", () => {
  const stack = useStack();

  it("PgBouncer refuses a client that asks for sslmode=disable", async () => {
    const s = stack();
    expect(await pgLogin(s.pgbouncer.url, false)).toMatch(/SSL required/);
    const url = new URL(s.pgbouncer.url);
    url.searchParams.set("sslmode", "disable");
    url.searchParams.delete("sslrootcert");
    expect(psql(url.toString())).toMatchObject({ status: 2, stderr: expect.stringMatching(/SSL required/) as unknown });
  });

  it("PostgreSQL refuses a client that asks for sslmode=disable, by its hostnossl line", async () => {
    const s = stack();
    expect(await pgLogin(s.postgres.appUrl, false)).toMatch(/pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "app", database "app", no encryption/);
  });

  it("Redis answers nothing to a plaintext client and closes the connection", async () => {
    const s = stack();
    const { reply, ended } = await plaintextRedisPing(s.redis.port);
    expect(reply).toBe("");
    expect(ended).toMatch(/closed|ECONNRESET/);
    expect(await redisAttempt(s.redis.url.replace(/^rediss:/, "redis:"), undefined)).not.toBe("PONG");
  });

  it("a client that trusts another CA fails verify-full against PgBouncer, PostgreSQL and Redis", async () => {
    const s = stack();
    const other = await createCaPem({ subject: [{ CN: ["another CA"] }], lifetimeMs: DAY_MS });
    for (const url of [s.pgbouncer.url, s.postgres.appUrl]) {
      expect(await pgLogin(url, { ca: other.cert, rejectUnauthorized: true })).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify|self-signed/);
    }
    expect(await redisAttempt(s.redis.url, { ca: other.cert })).toMatch(/self-signed|unable to verify/i);
  });

  it("psql with sslmode=verify-full and the stack's CA logs in, and with another CA does not", async () => {
    const s = stack();
    expect(psql(s.pgbouncer.url).status).toBe(0);
    const otherCaFile = join(s.dataDir, "other-ca.crt");
    writeFileSync(otherCaFile, (await createCaPem({ subject: [{ CN: ["another CA"] }], lifetimeMs: DAY_MS })).cert);
    const url = new URL(s.pgbouncer.url);
    url.searchParams.set("sslrootcert", otherCaFile);
    expect(psql(url.toString())).toMatchObject({ status: 2, stderr: expect.stringMatching(/certificate verify failed/) as unknown });
  });
});

describe("with client certificates required", () => {
  const stack = useStack({ overrides: { tls: { clientCertificates: true } }, probe: true });

  it("the probe app shows the client pair on its pooled connections: /probe answers through PgBouncer and Redis", async () => {
    // Its pg Pool once threw at start here (pg-pool redefines ssl.key), so no app ran with client certificates.
    const res = await fetch(`${stack().probe!.url}/probe`, { signal: AbortSignal.timeout(15_000) });
    const body = (await res.json()) as { pg?: unknown; redis?: unknown };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.pg).toBeDefined();
    expect(body.redis).toBeDefined();
  });

  it("every server takes a client certificate from the stack's CA", async () => {
    const s = stack();
    const ca = readFileSync(s.tls.caFile, "utf8");
    const pair = { cert: readFileSync(s.tls.clientFiles!.cert, "utf8"), key: readFileSync(s.tls.clientFiles!.key, "utf8") };
    for (const url of [s.pgbouncer.url, s.postgres.appUrl]) expect(await pgLogin(url, { ca, ...pair, rejectUnauthorized: true })).toBe("connected");
  });

  it("PgBouncer, PostgreSQL and Redis refuse a client whose certificate expired", async () => {
    const s = stack();
    const ca = readFileSync(s.tls.caFile, "utf8");
    const expired = await leafFromStackCa(join(s.dataDir, "tls"), { usage: "client", now: new Date(Date.now() - 30 * DAY_MS), lifetimeMs: DAY_MS });
    for (const url of [s.pgbouncer.url, s.postgres.appUrl]) {
      expect(await pgLogin(url, { ca, ...expired, rejectUnauthorized: true })).not.toBe("connected");
    }
    expect(await redisTlsPing(s.redis.port, { ca, ...expired })).not.toMatch(/NOAUTH/);
    // The same connection with the stack's own client pair is accepted: what failed was the expiry.
    expect(await redisTlsPing(s.redis.port, { ca, cert: readFileSync(s.tls.clientFiles!.cert, "utf8"), key: readFileSync(s.tls.clientFiles!.key, "utf8") })).toMatch(/^-NOAUTH/);
  });

  it("PgBouncer, PostgreSQL and Redis refuse a client that shows no certificate", async () => {
    const s = stack();
    const ca = readFileSync(s.tls.caFile, "utf8");
    for (const url of [s.pgbouncer.url, s.postgres.appUrl]) expect(await pgLogin(url, { ca, rejectUnauthorized: true })).not.toBe("connected");
    expect(await redisTlsPing(s.redis.port, { ca })).not.toMatch(/NOAUTH/);
  });
});
