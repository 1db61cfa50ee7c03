/** Creating the local PostgreSQL cluster and the app's role and database in it. */
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import type { StackConfig } from "../infra/config/index.ts";
import { verifierOf, type StackSecrets } from "../infra/render/index.ts";
import { InitdbError } from "./errors.ts";
import type { Layout } from "./files.ts";
import type { RunAs } from "./system.ts";

/** initdb with SCRAM for every login and the superuser's generated password; nothing if it exists. */
export function initdb(postgresBin: string, l: Layout, secrets: StackSecrets, user: RunAs | undefined, say: (m: string) => void): void {
  if (existsSync(join(l.pgData, "PG_VERSION"))) return;
  say("initdb: creating the PostgreSQL cluster");
  mkdirSync(l.pgData, { recursive: true, mode: 0o700 });
  const pwfile = join(l.confDir, ".pwfile");
  writeFileSync(pwfile, secrets.superuser.password, { mode: 0o600 });
  try {
    if (user) {
      chownSync(l.pgData, user.uid, user.gid);
      chownSync(pwfile, user.uid, user.gid);
    }
    const r = spawnSync(
      join(postgresBin, "initdb"),
      ["-D", l.pgData, "-U", "postgres", "--pwfile", pwfile, "--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C"],
      { encoding: "utf8", ...(user ? { uid: user.uid, gid: user.gid } : {}) },
    );
    if (r.status !== 0) {
      rmSync(l.pgData, { recursive: true, force: true });
      throw new InitdbError(r.status, r.stderr || (r.error?.message ?? ""));
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/**
 * The app role gets the very SCRAM verifier PgBouncer holds, so PgBouncer can log in on its behalf; its
 * database is created if missing. Idempotent: run at every start and when the user or database changes.
 */
export async function bootstrapApp(superuserUrl: string, cfg: StackConfig, secrets: StackSecrets): Promise<void> {
  const client = new pg.Client({ connectionString: superuserUrl });
  await client.connect();
  try {
    const { user, database } = cfg.postgres;
    const role = client.escapeIdentifier(user);
    const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [user]);
    if (exists.rowCount === 0) await client.query(`CREATE ROLE ${role} LOGIN`);
    await client.query(`ALTER ROLE ${role} LOGIN PASSWORD ${client.escapeLiteral(verifierOf(secrets.app))}`);
    // pg_monitor lets the probe read pg_stat_activity for every session, not only its own.
    await client.query(`GRANT pg_monitor TO ${role}`);
    const db = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (db.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)} OWNER ${role}`);
  } finally {
    await client.end();
  }
}
