/**
 * What a stack-file change means for the running servers: which to restart, which to RELOAD, whether
 * the app role must be (re)created. Pure, so the decision is tested without servers.
 */
import type { StackConfig } from "../infra/config/index.ts";
import { pgbouncerRestartChecksum, type PgbouncerRuntime, type RenderedFiles } from "../infra/render/index.ts";
import { FILES } from "../infra/render/names.ts";

export interface ReloadPlan {
  restartPostgres: boolean;
  /** The role or database name changed: create them before PgBouncer points at them. */
  bootstrap: boolean;
  pgbouncer: "none" | "reload" | "restart";
  restartRedis: boolean;
}

export function planReload(
  before: { config: StackConfig; files: RenderedFiles },
  after: { config: StackConfig; files: RenderedFiles },
  pgbouncerRuntime: PgbouncerRuntime,
): ReloadPlan {
  const changed = (f: keyof RenderedFiles) => before.files[f] !== after.files[f];
  const pgbouncerChanged = changed(FILES.pgbouncerIni) || changed(FILES.pgbouncerHba) || changed(FILES.userlist);
  const sameRestartSettings = pgbouncerRestartChecksum(before.config, pgbouncerRuntime) === pgbouncerRestartChecksum(after.config, pgbouncerRuntime);
  return {
    restartPostgres: changed(FILES.postgresqlConf) || changed(FILES.pgHbaConf),
    bootstrap: before.config.postgres.user !== after.config.postgres.user || before.config.postgres.database !== after.config.postgres.database,
    pgbouncer: !pgbouncerChanged ? "none" : sameRestartSettings ? "reload" : "restart",
    restartRedis: changed(FILES.redisConf),
  };
}
