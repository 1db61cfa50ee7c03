/**
 * How a PgBouncer pod changes and ends without dropping work: the reloader that applies a changed
 * ConfigMap with RELOAD, the preStop drain, and the grace period that bounds it. Shell scripts run by the
 * pgbouncer image's own `sh` and `psql`.
 */
import type { StackConfig } from "../../config/index.ts";
import { clientPairIn, serverTlsFiles } from "./tls.ts";
import { PGBOUNCER_ADMIN_DATABASE } from "../../render/names.ts";

/** Time for the endpoint controller and kube-proxy to stop sending new clients to a terminating pod. */
export const ENDPOINT_DRAIN_SECONDS = 5;
/**
 * The Deployment's minReadySeconds: a new pod counts as available, and so lets the next old pod be
 * stopped, only after the pod stopped before it has finished its drain and its safe shutdown has begun.
 */
export const PGBOUNCER_MIN_READY_SECONDS = ENDPOINT_DRAIN_SECONDS + 2;
/** How often the reloader looks at the mounted files; the kubelet itself syncs them about once a minute. */
export const RELOAD_POLL_SECONDS = 5;
export const HEARTBEAT_FILE = "/run/reloader/heartbeat";

/** The TLS files a client in a server's pod names: the CA it verifies with and the client pair it shows. */
export interface LoopbackTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** The server's own TLS mount: where its in-pod clients find the CA and the client pair. */
export function loopbackTlsFiles(server: "postgres" | "pgbouncer"): LoopbackTlsFiles {
  return { ca: serverTlsFiles(server).ca, ...clientPairIn(server) };
}

/**
 * libpq connection options for a client in a server's own pod: verify-full against the stack's CA over
 * loopback. `files` defaults to the pod's mount; a test names its own copy of the same set.
 */
export function loopbackTlsParams(cfg: StackConfig, server: "postgres" | "pgbouncer", files = loopbackTlsFiles(server)): string {
  if (!cfg.tls.enabled) return "";
  const pair = cfg.tls.clientCertificates ? ` sslcert=${files.cert} sslkey=${files.key}` : "";
  return ` sslmode=verify-full sslrootcert=${files.ca}${pair}`;
}

/** psql to the local admin console (verify-full with TLS on, 127.0.0.1 is in PgBouncer's leaf); PGPASSWORD comes from the Secret. */
function console(cfg: StackConfig, command: string): string {
  return `psql -X -q "host=127.0.0.1 port=${cfg.pgbouncer.port} user=${cfg.pgbouncer.adminUser} dbname=${PGBOUNCER_ADMIN_DATABASE}${loopbackTlsParams(cfg, "pgbouncer")}" -c '${command}'`;
}

/**
 * preStop: wait until the Service no longer routes new clients here, then a *safe* shutdown: SIGINT to
 * PgBouncer, which is PID 1 of its container, and hold the hook until it has exited.
 *
 * SIGINT means the same on every version the image table offers (pgbouncer/pgbouncer doc/usage.md and
 * src/main.c at pgbouncer_1_18_0 … pgbouncer_1_25_0): before 1.23 "Same as issuing PAUSE and SHUTDOWN"
 * (handle_sigint sets P_PAUSE and cf_shutdown; janitor.c exits once no server connection is active);
 * from 1.23 "Same as issuing SHUTDOWN WAIT_FOR_SERVERS" (also stops accepting and disconnects clients
 * still waiting for a server). Either way PgBouncer exits as soon as every in-flight transaction has
 * finished and its server connection is back, which is what transaction pooling wants: pooled clients
 * reconnect through the Service to another replica. Not the kubelet's SIGTERM: before 1.23 it is an
 * immediate exit that cuts in-flight transactions, and from 1.23 it means WAIT_FOR_CLIENTS, which a
 * pooled client under load never satisfies, so the pod would always run into its grace period.
 */
export function preStopScript(): string {
  return [`sleep ${ENDPOINT_DRAIN_SECONDS}`, "kill -INT 1", "while kill -0 1 2>/dev/null; do sleep 1; done"].join("\n");
}

/** A heartbeat older than this means the reloader's loop has stopped. */
export const HEARTBEAT_STALE_SECONDS = 60;

/**
 * A watcher: when the kubelet swaps a mounted ConfigMap or Secret (it does so atomically, only for
 * directory mounts, never subPath), run `command` until it succeeds once for that content. A heartbeat
 * file backs its probes. The PgBouncer reloader (RELOAD) and the TLS reloaders of PostgreSQL and
 * Redis (infra/k8s/manifests/tls-reload.ts) are all this loop.
 *
 * It is PID 1 of its container, and PID 1 gets no signal it has no handler for (pid_namespaces(7)): a
 * plain `sh -c` loop would ignore the kubelet's SIGTERM and hold every pod for its whole grace period.
 * So it traps TERM and INT, and sleeps in the background with `wait`, which a trapped signal interrupts
 * at once (a foreground `sleep` would delay the trap until it ends).
 *
 * The heartbeat is written to a temporary file and renamed over the old one: rename(2) replaces it in one
 * step, so a probe reads the old beat or the new one, never the empty file `date > file` leaves between
 * its truncation and its write (seen as "expecting primary" from the probe's arithmetic).
 */
export function watchScript(files: readonly string[], command: string, done: string, heartbeat: string = HEARTBEAT_FILE): string {
  const sum = `cat ${files.join(" ")} | md5sum`;
  return [
    "set -u",
    "trap 'exit 0' TERM INT",
    `mkdir -p ${heartbeat.replace(/\/[^/]+$/, "")}`,
    `last="$(${sum})"`,
    "while true; do",
    `  date +%s > ${heartbeat}.tmp && mv -f ${heartbeat}.tmp ${heartbeat}`,
    `  sleep ${RELOAD_POLL_SECONDS} & wait $!`,
    `  now="$(${sum})"`,
    '  if [ "$now" != "$last" ]; then',
    `    if ${command}; then last="$now"; echo "${done}"; fi`,
    "  fi",
    "done",
  ].join("\n");
}

/** The PgBouncer reloader: RELOAD on the console when its config, userlist or TLS files change. */
export function reloaderScript(cfg: StackConfig, files: readonly string[], heartbeat: string = HEARTBEAT_FILE): string {
  return watchScript(files, console(cfg, "RELOAD"), "reloaded pgbouncer: config changed", heartbeat);
}

/**
 * The reloader's probes, telling "not yet" (no heartbeat written yet: the loop is starting) from
 * "broken" (a heartbeat that is stale, or not a number), each with its own message in the pod's events.
 * Readiness waits for the first beat; liveness lets a container that has not beaten yet live (its
 * readiness keeps the pod out of the Service meanwhile) and restarts one whose loop stopped.
 */
export function reloaderProbeCommand(probe: "liveness" | "readiness", heartbeat: string = HEARTBEAT_FILE): string[] {
  const notYet = probe === "liveness" ? 0 : 1;
  return [
    "sh",
    "-c",
    [
      `if [ ! -e ${heartbeat} ]; then echo "reloader: no heartbeat yet"; exit ${notYet}; fi`,
      `beat="$(cat ${heartbeat})"`,
      `case "$beat" in ''|*[!0-9]*) echo "reloader: heartbeat unreadable: $beat"; exit 1;; esac`,
      'age=$(( $(date +%s) - beat ))',
      `if [ "$age" -ge ${HEARTBEAT_STALE_SECONDS} ]; then echo "reloader: last heartbeat $age s ago"; exit 1; fi`,
    ].join("\n"),
  ];
}

/** The first timeout that is set (0 means "never"). */
function firstBound(...ms: number[]): number | undefined {
  return ms.find((m) => m > 0);
}

/**
 * Long enough for the endpoint drain plus the longest an in-flight transaction may keep a server
 * connection: a running query (query_timeout, else statement_timeout; zero means "never", so a minute
 * stands in), plus a margin for PgBouncer's exit.
 */
export function pgbouncerTerminationGraceSeconds(cfg: StackConfig): number {
  const pb = cfg.pgbouncer;
  const fallbackMs = 60_000;
  const queryMs = firstBound(pb.queryTimeout, cfg.postgres.statementTimeout) ?? fallbackMs;
  const marginSeconds = 5;
  return ENDPOINT_DRAIN_SECONDS + Math.ceil(queryMs / 1000) + marginSeconds;
}
