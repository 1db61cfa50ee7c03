/**
 * The versions of PostgreSQL and PgBouncer this node really runs in place of the stack's images, from the
 * same stand-in table the node agent runs pods with, as the stack config's version keys take them
 * ("15", "1.18"). `npm run up -- --cluster local` hands them to the program (POOLING_NODE_VERSIONS), so a
 * stack that asks for PgBouncer 1.24 is validated and rendered for the 1.18 that will run it.
 *
 * Run directly, it prints them as `postgres=15,pgbouncer=1.18`.
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { debianStandIns } from "../standin-table.ts";

export interface StandInVersions {
  postgres?: string;
  pgbouncer?: string;
}

export async function standInVersions(projectDir: string): Promise<StandInVersions> {
  const { stackVersions } = await debianStandIns({ projectDir, cacheDir: join(projectDir, ".local", "pods") });
  return { postgres: stackVersions["postgres.version"], pgbouncer: stackVersions["pgbouncer.version"] };
}

export function formatStandInVersions(v: StandInVersions): string {
  return (["postgres", "pgbouncer"] as const)
    .filter((k) => v[k] !== undefined)
    .map((k) => `${k}=${v[k]}`)
    .join(",");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatStandInVersions(await standInVersions(fileURLToPath(new URL("../..", import.meta.url)))));
}
