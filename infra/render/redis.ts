/** redis.conf from the typed stack config. The password goes to a separate file kept as a secret. */
import type { StackConfig } from "../config/index.ts";
import { renderFile, sortedSettings } from "./template.ts";

export interface RedisRuntime {
  bind: string;
  /** Overrides pooling:redis.port (the local stack picks a free port). */
  port?: number;
  dir: string;
  /** Path of the secret file holding `requirepass`, included at the end. */
  authFile: string;
  pidfile?: string;
}

/** Redis takes whole seconds; round up so a configured timeout is never shortened. */
const seconds = (ms: number) => Math.ceil(ms / 1000);

export function redisSettings(cfg: StackConfig, rt: RedisRuntime) {
  const r = cfg.redis;
  return {
    appendfsync: "everysec",
    appendonly: r.appendOnly ? "yes" : "no",
    bind: rt.bind,
    daemonize: "no",
    dir: rt.dir,
    logfile: '""',
    maxclients: r.maxClients,
    maxmemory: r.maxMemory,
    "maxmemory-policy": r.maxMemoryPolicy,
    pidfile: rt.pidfile,
    port: rt.port ?? r.port,
    "protected-mode": "yes",
    "tcp-keepalive": seconds(r.tcpKeepalive),
    timeout: seconds(r.timeout),
  };
}

export function renderRedisConf(cfg: StackConfig, rt: RedisRuntime): string {
  return renderFile("redisConf", "redis.conf", cfg.stack, { settings: sortedSettings(redisSettings(cfg, rt), String), includes: [rt.authFile] });
}

/** The included secret file. Redis quoting: the generated password is alphanumeric, quoted anyway. */
export function renderRedisAuthConf(password: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(password)) throw new Error("the Redis password must be URL-safe alphanumeric");
  return `requirepass "${password}"\n`;
}
