/** Pure renderers: StackConfig (+ secrets, + where things run) → file text. No I/O, deterministic. */
import type { StackConfig } from "../config/index.ts";
import { renderPgbouncerHba, renderPgbouncerIni, renderUserlist, type PgbouncerRuntime } from "./pgbouncer.ts";
import { renderPgHbaConf, renderPostgresqlConf, type PostgresRuntime } from "./postgres.ts";
import { renderRedisAuthConf, renderRedisConf, type RedisRuntime } from "./redis.ts";
import type { StackSecrets } from "./secrets.ts";

export * from "./pgbouncer.ts";
export * from "./postgres.ts";
export * from "./redis.ts";
export * from "./secrets.ts";
export * from "./tls.ts";
export * from "./certificates.ts";
export { scramVerifier, SCRAM_ITERATIONS } from "./scram.ts";
export { contentHash } from "./template.ts";

export interface Runtime {
  postgres: PostgresRuntime;
  pgbouncer: PgbouncerRuntime;
  redis: RedisRuntime;
}

export interface RenderedFiles {
  "postgresql.conf": string;
  "pg_hba.conf": string;
  "pgbouncer.ini": string;
  "pgbouncer_hba.conf": string;
  "userlist.txt": string;
  "redis.conf": string;
  /** Secret: holds the Redis password. */
  "redis-auth.conf": string;
}

export const SECRET_FILES = ["userlist.txt", "redis-auth.conf"] as const;

export function renderAll(cfg: StackConfig, secrets: StackSecrets, rt: Runtime): RenderedFiles {
  return {
    "postgresql.conf": renderPostgresqlConf(cfg, rt.postgres),
    "pg_hba.conf": renderPgHbaConf(cfg, rt.postgres),
    "pgbouncer.ini": renderPgbouncerIni(cfg, rt.pgbouncer),
    "pgbouncer_hba.conf": renderPgbouncerHba(cfg, rt.pgbouncer),
    "userlist.txt": renderUserlist(cfg, secrets),
    "redis.conf": renderRedisConf(cfg, rt.redis),
    "redis-auth.conf": renderRedisAuthConf(secrets.redisPassword),
  };
}
export * from "./probe.ts";
export * from "./alerts.ts";
export * from "./metrics.ts";
export * from "./prometheus.ts";
export * from "./dashboard.ts";
