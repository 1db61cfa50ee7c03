/**
 * Rotation on Kubernetes: a renewed leaf changes the server's TLS Secret, the kubelet swaps the mounted
 * files (whole-directory mounts only), and a small sidecar in the server's pod tells the server, none
 * restarted. PgBouncer's reloader already watches its files (pgbouncer.ts adds the TLS ones); PostgreSQL
 * and Redis get the TLS reloaders here, the same loop (watchScript) with their own command.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { StackConfig } from "../../config/index.ts";
import { containerSecurity, execProbe, images, scratch, sidecarResources, type EnvVar } from "./common.ts";
import { HEARTBEAT_FILE, reloaderProbeCommand, watchScript } from "./pgbouncer-drain.ts";
import { clientPairIn, serverTlsFiles, tlsMount, TLS_DIRS } from "./tls.ts";

/** The files a server's TLS reloader watches: the CA and the server's pair, and the client pair when clients show one. */
export function watchedTlsFiles(cfg: StackConfig, server: "postgres" | "pgbouncer" | "redis"): string[] {
  const f = serverTlsFiles(server);
  const client = cfg.tls.clientCertificates ? [clientPairIn(server).cert, clientPairIn(server).key] : [];
  return [f.ca, f.cert, f.key, ...client];
}

/**
 * PostgreSQL: pg_reload_conf() as the superuser over the pod's Unix socket (`local … scram-sha-256`, no
 * TLS, so it works whatever the certificates). Every ssl_* setting has context sighup (infra/render/
 * postgres.ts), so the postmaster builds a new SSL context from the files on reload. Not a SIGHUP: a
 * signal from another container needs a shared PID namespace, which would take PID 1 from postgres.
 */
export function postgresTlsReloadCommand(cfg: StackConfig, socketDir: string): string {
  return `psql -X -q -h ${socketDir} -p ${cfg.postgres.port} -U postgres -d postgres -c 'SELECT pg_reload_conf()' >/dev/null`;
}

/** redis-cli over TLS to the server in the same pod; REDISCLI_AUTH holds the password. */
export function redisCli(cfg: StackConfig, args: string): string {
  if (!cfg.tls.enabled) return `redis-cli -h 127.0.0.1 -p ${cfg.redis.port} ${args}`;
  const f = serverTlsFiles("redis");
  const pair = cfg.tls.clientCertificates ? ` --cert ${clientPairIn("redis").cert} --key ${clientPairIn("redis").key}` : "";
  return `redis-cli --tls --cacert ${f.ca}${pair} -h 127.0.0.1 -p ${cfg.redis.port} ${args}`;
}

/**
 * Redis: `CONFIG SET tls-cert-file … tls-key-file … tls-ca-cert-file …`. Redis 7.0 rebuilds its TLS
 * context only when one of these values changes (config.c: stringConfigSet returns 2, "unchanged", for the
 * same string, and configSetCommand then skips applyTlsCfg), and the kubelet swaps the files under the
 * same paths. So the paths alternate between two spellings of the same files, `DIR/tls.crt` and
 * `DIR/./tls.crt`: the value is always new, the files are always the mounted ones, and the spelling in use
 * is read back with CONFIG GET, so a restarted reloader picks the other one. applyTlsCfg loads all three
 * files into a new context and keeps the old one if any fails (tlsConfigure), so a bad set changes nothing.
 */
export function redisTlsReloadCommand(cfg: StackConfig): string {
  const dir = TLS_DIRS.redis;
  const f = serverTlsFiles("redis");
  const set = (d: string) => `CONFIG SET tls-cert-file ${d}/tls.crt tls-key-file ${d}/tls.key tls-ca-cert-file ${d}/ca.crt`;
  return [
    `{ cur="$(${redisCli(cfg, "--raw CONFIG GET tls-cert-file")} | sed -n 2p)"`,
    `if [ "$cur" = "${f.cert}" ]; then d="${dir}/."; else d="${dir}"; fi`,
    `${redisCli(cfg, set("$d"))} | grep -q '^OK'; }`,
  ].join("; ");
}

/** A TLS reloader sidecar: the server's image (its psql or redis-cli), the server's user, the TLS mount. */
export function tlsReloaderContainer(opts: {
  cfg: StackConfig;
  server: "postgres" | "redis";
  image: string;
  uid: number;
  command: string;
  env: EnvVar[];
  mounts?: k8s.types.input.core.v1.VolumeMount[];
}): { container: k8s.types.input.core.v1.Container; volume: k8s.types.input.core.v1.Volume } {
  const run = scratch("tls-reloader-run", HEARTBEAT_FILE.replace(/\/[^/]+$/, ""));
  return {
    container: {
      name: "tls-reloader",
      image: opts.image,
      command: ["sh", "-c", watchScript(watchedTlsFiles(opts.cfg, opts.server), opts.command, `reloaded ${opts.server}: certificates changed`)],
      env: opts.env,
      livenessProbe: { ...execProbe(reloaderProbeCommand("liveness"), 30), initialDelaySeconds: 10 },
      readinessProbe: execProbe(reloaderProbeCommand("readiness"), 5),
      resources: sidecarResources(),
      securityContext: containerSecurity(opts.uid),
      volumeMounts: [tlsMount(opts.server), ...(opts.mounts ?? []), run.mount],
    },
    volume: run.volume,
  };
}

/** The images the reloaders run: the server's own, for its client binary. */
export const reloaderImage = (cfg: StackConfig, server: "postgres" | "redis") => images(cfg)[server];
