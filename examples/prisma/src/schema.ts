/**
 * Applies sql/schema.sql over the direct URL (Prisma's `directUrl` role: straight to PostgreSQL, not
 * through PgBouncer). Plain SQL, since `prisma migrate` needs Prisma's schema engine binary.
 */
import { readFile } from "node:fs/promises";
import pg from "pg";

export const SCHEMA_SQL = new URL("../sql/schema.sql", import.meta.url);

export async function applySchema(directUrl: string): Promise<void> {
  const sql = await readFile(SCHEMA_SQL, "utf8");
  const client = new pg.Client({ connectionString: directUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
