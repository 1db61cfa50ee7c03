/** Where each server finds its files and peers inside its pod: the cluster's half of `renderAll`. */
import type { StackConfig } from "../config/index.ts";
import type { Runtime } from "../render/index.ts";
import { pgbouncerRuntime } from "./manifests/pgbouncer.ts";
import { postgresRuntime } from "./manifests/postgres.ts";
import { redisRuntime } from "./manifests/redis.ts";

export function clusterRuntime(cfg: StackConfig): Runtime {
  return { postgres: postgresRuntime(cfg), pgbouncer: pgbouncerRuntime(cfg), redis: redisRuntime(cfg) };
}
