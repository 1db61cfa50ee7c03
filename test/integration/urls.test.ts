/**
 * Every URL the project prints or exports works, as it is, in the standard clients: psql and
 * node-postgres for PostgreSQL and PgBouncer, redis-cli and ioredis for Redis.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { directUrl, pgbouncerStatsUrl, pooledUrl, prismaDatabaseUrl, redisUrl } from "../../infra/k8s/manifests/urls.ts";
import type { StackSecrets } from "../../infra/render/index.ts";
import { PROJECT_DIR, startLocalStack, type LocalStack } from "../../local/stack.ts";
import { isAlive, query, waitFor } from "./fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "pooling-urls-"));
chmodSync(dir, 0o755);

function psql(url: string, sql: string): string {
  const r = spawnSync("psql", [url, "-X", "-A", "-t", "-c", sql], { encoding: "utf8", env: { PATH: process.env.PATH } });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
}

/** The CA the stack under test signed its certificates with: redis-cli and ioredis take it beside the URL. */
let caFile = "";

function redisCli(url: string): string {
  const tls = url.startsWith("rediss://") ? ["--tls", "--cacert", caFile] : [];
  const r = spawnSync("redis-cli", ["--no-auth-warning", ...tls, "-u", url, "PING"], { encoding: "utf8" });
  return `${r.stdout}${r.stderr}`.trim();
}

async function ioredisPing(url: string): Promise<string> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(url.startsWith("rediss://") ? { tls: { ca: readFileSync(caFile, "utf8") } } : {}) });
  try {
    await r.connect();
    return await r.ping();
  } finally {
    r.disconnect();
  }
}

/** What each client must answer: the console speaks only its SHOW commands. */
async function expectWorks(url: string): Promise<void> {
  if (/^rediss?:\/\//.test(url)) {
    expect(redisCli(url), url.replace(/:[^:@]*@/, ":***@")).toBe("PONG");
    expect(await ioredisPing(url)).toBe("PONG");
    return;
  }
  const console = new URL(url).pathname === "/pgbouncer";
  const sql = console ? "SHOW VERSION" : "SELECT 1 AS one";
  expect(psql(url, sql)).toMatch(console ? /PgBouncer/ : /^1$/);
  const rows = await query(url, sql);
  expect(rows).toHaveLength(1);
}

const URLS = /\b(?:postgres(?:ql)?|rediss?):\/\/\S+/g;
const CA = /TLS CA: +(\S+)/;

/** `npm start` (no probe) until it is ready; the stdout it printed, and how to stop it. */
async function startCli(args: string[], readyWhen: string) {
  const child = spawn(process.execPath, ["--import", "tsx", join(PROJECT_DIR, "local", "cli.ts"), "--no-probe", "--free-ports", "--data-dir", join(dir, "cli"), ...args], {
    cwd: PROJECT_DIR,
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stop = async () => {
    child.kill("SIGTERM");
    await exited;
  };
  try {
    return { out: await waitFor("the stack to be ready", async () => (out.includes(readyWhen) ? out : undefined), 90_000), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

describe("the URLs npm start prints", () => {
  it("prints five URLs, the Redis one with its user named, that psql, node-postgres, redis-cli and ioredis accept", async () => {
    const cli = await startCli([], "Ctrl-C to stop");
    try {
      const printed = cli.out.match(URLS) ?? [];
      caFile = CA.exec(cli.out)![1]!;
      expect(printed).toHaveLength(5);
      expect(printed.filter((u) => u.startsWith("rediss://default:"))).toHaveLength(1);
      expect(printed.filter((u) => u.startsWith("postgresql://")).every((u) => new URL(u).searchParams.get("sslmode") === "verify-full" && new URL(u).searchParams.get("sslrootcert") === caFile)).toBe(true);
      for (const url of printed) await expectWorks(url);
    } finally {
      await cli.stop();
    }
  });

  it("puts URLs in the --json line that psql, node-postgres, redis-cli and ioredis accept", async () => {
    const cli = await startCli(["--json"], "\n");
    try {
      const json = JSON.parse(cli.out) as Record<string, { url: string; adminUrl?: string; caFile?: string }>;
      caFile = json.tls!.caFile!;
      const urls = [json.postgres!.url, json.pgbouncer!.url, json.pgbouncer!.adminUrl!, json.redis!.url];
      expect(urls[3]).toMatch(/^rediss:\/\/default:/);
      for (const url of urls) await expectWorks(url);
    } finally {
      await cli.stop();
    }
  });
});

describe("the URLs the Kubernetes stack exports", () => {
  let stack: LocalStack | undefined;
  beforeAll(async () => {
    // Plaintext like the Kubernetes manifests, until they mount certificates (docs/tls.md, "Kubernetes").
    stack = await startLocalStack({ dataDir: join(dir, "k8s"), fresh: true, freePorts: true, installMissing: false, overrides: { tls: { enabled: false } } });
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The exported URL, its cluster address swapped for the local stack's server of the same kind, and the
   * CA path an app pod mounts for the local stack's CA (the local certificates name 127.0.0.1).
   */
  function local(url: string, port: number): string {
    const u = new URL(url);
    expect(u.hostname).toMatch(/\.svc\.cluster\.local$/);
    caFile = stack!.tls.caFile;
    const swapped = new URL(url.replace(`${u.hostname}:${u.port}`, `127.0.0.1:${port}`));
    if (swapped.searchParams.has("sslrootcert")) {
      expect(swapped.searchParams.get("sslmode")).toBe("verify-full");
      swapped.searchParams.set("sslrootcert", caFile);
    }
    return swapped.toString();
  }

  it("exports pooled, direct, stats and Redis URLs the standard clients accept as they are", async () => {
    const s = stack!;
    const secrets = JSON.parse(readFileSync(join(s.dataDir, "secrets.json"), "utf8")) as StackSecrets;
    await expectWorks(local(pooledUrl(s.config, secrets), s.pgbouncer.port));
    await expectWorks(local(directUrl(s.config, secrets), s.postgres.port));
    await expectWorks(local(pgbouncerStatsUrl(s.config, secrets), s.pgbouncer.port));
    const redis = local(redisUrl(s.config, secrets), s.redis.port);
    expect(redis).toMatch(/^redis:\/\/default:/);
    await expectWorks(redis);
  });

  it("exports a Prisma databaseUrl that node-postgres accepts, and psql once Prisma's own parameters are taken off", async () => {
    const s = stack!;
    const secrets = JSON.parse(readFileSync(join(s.dataDir, "secrets.json"), "utf8")) as StackSecrets;
    const url = local(prismaDatabaseUrl(s.config, secrets), s.pgbouncer.port);
    expect(await query(url, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
    // libpq refuses query parameters it does not know (pgbouncer, connection_limit, pool_timeout are Prisma's).
    const libpq = new URL(url);
    for (const p of ["pgbouncer", "connection_limit", "pool_timeout"]) libpq.searchParams.delete(p);
    expect(psql(libpq.toString(), "SELECT 1 AS one")).toBe("1");
    expect(isAlive(s.postgres.pid)).toBe(true);
  });
});
