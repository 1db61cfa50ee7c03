/** Pure renderers: StackConfig (+ secrets, + where things run) → file text. No I/O, deterministic. */
import type { StackConfig } from "../config/index.ts";
import { renderPgbouncerHba, renderPgbouncerIni, renderUserlist, type PgbouncerRuntime } from "./pgbouncer.ts";
import { renderPgHbaConf, renderPostgresqlConf, type PostgresRuntime } from "./postgres.ts";
import { renderRedisAuthConf, renderRedisConf, type RedisRuntime } from "./redis.ts";
import type { StackSecrets } from "./secrets.ts";
import { FILES } from "./names.ts";

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
  [FILES.postgresqlConf]: string;
  [FILES.pgHbaConf]: string;
  [FILES.pgbouncerIni]: string;
  [FILES.pgbouncerHba]: string;
  [FILES.userlist]: string;
  [FILES.redisConf]: string;
  /** Secret: holds the Redis password. */
  [FILES.redisAuthConf]: string;
}

export const SECRET_FILES = [FILES.userlist, FILES.redisAuthConf] as const;

export function renderAll(cfg: StackConfig, secrets: StackSecrets, rt: Runtime): RenderedFiles {
  return {
    [FILES.postgresqlConf]: renderPostgresqlConf(cfg, rt.postgres),
    [FILES.pgHbaConf]: renderPgHbaConf(cfg, rt.postgres),
    [FILES.pgbouncerIni]: renderPgbouncerIni(cfg, rt.pgbouncer),
    [FILES.pgbouncerHba]: renderPgbouncerHba(cfg, rt.pgbouncer),
    [FILES.userlist]: renderUserlist(cfg, secrets),
    [FILES.redisConf]: renderRedisConf(cfg, rt.redis),
    [FILES.redisAuthConf]: renderRedisAuthConf(secrets.redisPassword),
  };
}
export * from "./probe.ts";
export * from "./alerts.ts";
export * from "./metrics.ts";
export * from "./prometheus.ts";
export * from "./dashboard.ts";
