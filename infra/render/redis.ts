/** redis.conf from the typed stack config. The password goes to a separate file kept as a secret. */
import type { StackConfig } from "../config/index.ts";
import { renderFile, sortedSettings } from "./template.ts";
import { redisTlsProtocols, tlsFilesFor, type TlsFiles } from "./tls.ts";
import { FILES } from "./names.ts";

export interface RedisRuntime {
  bind: string;
  /** Overrides pooling:redis.port (the local stack picks a free port). */
  port?: number;
  dir: string;
  /** Path of the secret file holding `requirepass`, included at the end. */
  authFile: string;
  pidfile?: string;
  /** Needed when pooling:tls.enabled. */
  tls?: TlsFiles;
}

/** Redis takes whole seconds; round up so a configured timeout is never shortened. */
const seconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * TLS only: `port 0` closes the plaintext port, the configured port becomes `tls-port`. The password stays
 * (requirepass, in the included file). Redis 7.0 reloads tls-cert-file, tls-key-file and tls-ca-cert-file on
 * CONFIG SET only when the value changes (config.c: stringConfigSet returns 2, "unchanged", and
 * configSetCommand then skips applyTlsCfg), so a renewed pair goes to new file names, not over the old ones.
 */
function redisTlsSettings(cfg: StackConfig, rt: RedisRuntime) {
  const port = rt.port ?? cfg.redis.port;
  const tls = tlsFilesFor(cfg, rt.tls, "redis");
  if (!tls) return { port };
  return {
    port: 0,
    "tls-auth-clients": cfg.tls.clientCertificates ? "yes" : "no",
    "tls-ca-cert-file": tls.ca,
    "tls-cert-file": tls.cert,
    "tls-key-file": tls.key,
    "tls-port": port,
    "tls-protocols": redisTlsProtocols(cfg),
  };
}

export function redisSettings(cfg: StackConfig, rt: RedisRuntime) {
  const r = cfg.redis;
  return {
    ...redisTlsSettings(cfg, rt),
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
    "protected-mode": "yes",
    "tcp-keepalive": seconds(r.tcpKeepalive),
    timeout: seconds(r.timeout),
  };
}

export function renderRedisConf(cfg: StackConfig, rt: RedisRuntime): string {
  return renderFile("redisConf", FILES.redisConf, cfg.stack, { settings: sortedSettings(redisSettings(cfg, rt), String), includes: [rt.authFile] });
}

/** The included secret file. Redis quoting: the generated password is alphanumeric, quoted anyway. */
export function renderRedisAuthConf(password: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(password)) throw new Error("the Redis password must be URL-safe alphanumeric");
  return `requirepass "${password}"\n`;
}
