import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackSecrets } from "../../infra/render/index.ts";
import { startLocalStack } from "../../local/stack.ts";
import { query } from "./fixture.ts";

/** The URL with another database (its TLS parameters kept). */
function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Every password the stack generated, read from its secrets file. */
function passwordsOf(secrets: StackSecrets): string[] {
  return [secrets.superuser, secrets.app, secrets.pgbouncerAdmin, secrets.pgbouncerStats].map((u) => u.password).concat(secrets.redisPassword);
}

describe("secrets in a run of the local stack", () => {
  const dir = mkdtempSync(join(tmpdir(), "pooling-sec-"));
  chmodSync(dir, 0o755);
  const dataDir = join(dir, "data");
  const progress: string[] = [];
  let logs: Record<string, string> = {};
  let passwords: string[] = [];
  let urls: string[] = [];
  let unknownDb = "";
  let consoleAsApp = "";

  beforeAll(async () => {
    const s = await startLocalStack({ dataDir, fresh: true, freePorts: true, probe: true, installMissing: false, log: (m) => progress.push(m) });
    try {
      urls = [s.postgres.url, s.pgbouncer.url, s.pgbouncer.adminUrl, s.redis.url];
      // Some traffic, including refused logins and unknown databases, so the servers have things to log.
      await query(s.pgbouncer.url, "SELECT 1");
      await query(s.pgbouncer.url.replace(/:[^:@/]+@/, ":wrong@"), "SELECT 1").catch(() => undefined);
      unknownDb = await query(withDatabase(s.pgbouncer.url, "nosuchdb"), "SELECT 1").then(
        () => "connected",
        (err: Error) => err.message,
      );
      await query(withDatabase(s.pgbouncer.url, "pgbouncer"), "SHOW POOLS").then(
        () => (consoleAsApp = "admitted"),
        (err: Error) => (consoleAsApp = err.message),
      );
      await query(s.postgres.appUrl.replace(/:[^:@/]+@/, ":wrong@"), "SELECT 1").catch(() => undefined);
      for (let i = 0; i < 20; i++) await fetch(`${s.probe!.url}/probe?key=sec-${i}`).then((r) => r.text());
      await fetch(`${s.probe!.url}/probe?key=${"x".repeat(500)}`).then((r) => r.text());
      await s.reloadConfig();
    } finally {
      await s.stop();
    }
    passwords = passwordsOf(JSON.parse(readFileSync(join(dataDir, "secrets.json"), "utf8")) as StackSecrets);
    const logDir = join(dataDir, "logs");
    logs = Object.fromEntries(readdirSync(logDir).map((f) => [f, readFileSync(join(logDir, f), "utf8")]));
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps every generated password out of every server's log and the probe's log", () => {
    expect(Object.keys(logs).sort()).toEqual(["pgbouncer.log", "postgres.log", "probe.log", "redis.log"]);
    expect(logs["probe.log"]!.length).toBeGreaterThan(0);
    for (const [file, text] of Object.entries(logs)) {
      for (const p of passwords) expect(text.includes(p), `${file} contains a password`).toBe(false);
    }
  });

  it("keeps every generated password out of the stack's progress messages", () => {
    expect(progress.length).toBeGreaterThan(0);
    for (const p of passwords) expect(progress.join("\n").includes(p)).toBe(false);
  });

  it("refuses an unknown database with a clear error", () => {
    expect(unknownDb).toMatch(/no such database: nosuchdb/);
  });

  it("keeps the app user out of PgBouncer's admin console", () => {
    expect(consoleAsApp).toMatch(/not allowed/);
  });

  it("hands the passwords only to the URLs it prints for the user", () => {
    for (const u of urls) expect(passwords.some((p) => u.includes(encodeURIComponent(p)))).toBe(true);
  });
});
