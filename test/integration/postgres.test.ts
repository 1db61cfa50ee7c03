import { describe, expect, it } from "vitest";
import { pgDuration, pgSize } from "../../infra/render/index.ts";
import { query, useStack } from "./fixture.ts";

describe("PostgreSQL with the rendered postgresql.conf", () => {
  const stack = useStack();

  it("accepts the file and reports every configured value back through pg_settings", async () => {
    const s = stack();
    const pg = s.config.postgres;
    const rows = await query<{ name: string; setting: string; unit: string | null }>(
      s.postgres.url,
      "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)",
      [["max_connections", "superuser_reserved_connections", "shared_buffers", "effective_cache_size", "work_mem", "maintenance_work_mem", "statement_timeout", "idle_in_transaction_session_timeout", "lock_timeout", "password_encryption"]],
    );
    const got = Object.fromEntries(rows.map((r) => [r.name, r]));
    const bytes = (n: string) => Number(got[n]!.setting) * (got[n]!.unit === "8kB" ? 8192 : got[n]!.unit === "kB" ? 1024 : 1);
    expect(Number(got.max_connections!.setting)).toBe(pg.maxConnections);
    expect(Number(got.superuser_reserved_connections!.setting)).toBe(pg.superuserReservedConnections);
    expect(bytes("shared_buffers")).toBe(pg.sharedBuffers);
    expect(bytes("effective_cache_size")).toBe(pg.effectiveCacheSize);
    expect(bytes("work_mem")).toBe(pg.workMem);
    expect(bytes("maintenance_work_mem")).toBe(pg.maintenanceWorkMem);
    expect(Number(got.statement_timeout!.setting)).toBe(pg.statementTimeout);
    expect(Number(got.idle_in_transaction_session_timeout!.setting)).toBe(pg.idleInTransactionSessionTimeout);
    expect(Number(got.lock_timeout!.setting)).toBe(pg.lockTimeout);
    expect(got.password_encryption!.setting).toBe("scram-sha-256");
  });

  it("shows the same values through SHOW as the renderer wrote", async () => {
    const s = stack();
    const [row] = await query<{ statement_timeout: string }>(s.postgres.url, "SHOW statement_timeout");
    expect(row!.statement_timeout).toBe(pgDuration(s.config.postgres.statementTimeout));
    const [wm] = await query<{ work_mem: string }>(s.postgres.url, "SHOW work_mem");
    expect(wm!.work_mem).toBe(pgSize(s.config.postgres.workMem));
  });

  it("stores the app role's password as the SCRAM verifier PgBouncer holds", async () => {
    const s = stack();
    const [row] = await query<{ rolpassword: string }>(s.postgres.url, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", [s.config.postgres.user]);
    expect(row!.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  it("refuses a login with a wrong password", async () => {
    const s = stack();
    const wrong = s.postgres.appUrl.replace(/:[^:@/]+@/, ":not-the-password@");
    await expect(query(wrong, "SELECT 1")).rejects.toThrow(/password authentication failed/);
  });
});
