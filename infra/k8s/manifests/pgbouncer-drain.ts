/**
 * How a PgBouncer pod changes and ends without dropping work: the reloader that applies a changed
 * ConfigMap with RELOAD, the preStop drain, and the grace period that bounds it. Shell scripts run by the
 * pgbouncer image's own `sh` and `psql`.
 */
import { compareVersions, type StackConfig } from "../../config/index.ts";

/** Time for the endpoint controller and kube-proxy to stop sending new clients to a terminating pod. */
export const ENDPOINT_DRAIN_SECONDS = 5;
/** How often the reloader looks at the mounted files; the kubelet itself syncs them about once a minute. */
export const RELOAD_POLL_SECONDS = 5;
export const HEARTBEAT_FILE = "/run/reloader/heartbeat";

/** Versions whose console has `SHUTDOWN WAIT_FOR_CLIENTS` (and whose SIGTERM means the same). */
export const WAIT_FOR_CLIENTS_SINCE = "1.23";

export function hasWaitForClients(cfg: StackConfig): boolean {
  return compareVersions(cfg.pgbouncer.version, WAIT_FOR_CLIENTS_SINCE) >= 0;
}

/** psql to the local admin console; PGPASSWORD comes from the Secret. */
function console(cfg: StackConfig, command: string): string {
  return `psql -X -q -h 127.0.0.1 -p ${cfg.pgbouncer.port} -U ${cfg.pgbouncer.adminUser} -d pgbouncer -c '${command}'`;
}

/**
 * preStop: wait until the Service no longer routes new clients here, then drain.
 * - 1.23 and newer: `SHUTDOWN WAIT_FOR_CLIENTS` stops accepting and exits once every client has left
 *   (the probe's pool closes idle clients after pooling:probe.postgresIdleTimeout).
 * - older: `PAUSE` returns once every server connection is back in the pool, i.e. no transaction is in
 *   flight; SIGTERM then closes the now idle clients, and a transaction-mode client reconnects elsewhere.
 */
export function preStopScript(cfg: StackConfig): string {
  const drain = hasWaitForClients(cfg)
    ? // PgBouncer is PID 1 of its container: hold the hook until it has exited by itself.
      [console(cfg, "SHUTDOWN WAIT_FOR_CLIENTS"), "while kill -0 1 2>/dev/null; do sleep 1; done"]
    : [console(cfg, "PAUSE")];
  return [`sleep ${ENDPOINT_DRAIN_SECONDS}`, ...drain].join("\n");
}

/**
 * The reloader: when the kubelet swaps the mounted ConfigMap or Secret (it does so atomically, only for
 * directory mounts, never subPath), send RELOAD. A heartbeat file backs its liveness probe.
 */
export function reloaderScript(cfg: StackConfig, files: readonly string[]): string {
  const sum = `cat ${files.join(" ")} | md5sum`;
  return [
    "set -u",
    `mkdir -p ${HEARTBEAT_FILE.replace(/\/[^/]+$/, "")}`,
    `last="$(${sum})"`,
    "while true; do",
    `  date +%s > ${HEARTBEAT_FILE}`,
    `  sleep ${RELOAD_POLL_SECONDS}`,
    `  now="$(${sum})"`,
    '  if [ "$now" != "$last" ]; then',
    `    if ${console(cfg, "RELOAD")}; then last="$now"; echo "reloaded pgbouncer: config changed"; fi`,
    "  fi",
    "done",
  ].join("\n");
}

/** Liveness of the reloader: its loop wrote the heartbeat within the last minute. */
export function reloaderLivenessCommand(): string[] {
  return ["sh", "-c", `test $(( $(date +%s) - $(cat ${HEARTBEAT_FILE}) )) -lt 60`];
}

/** The first timeout that is set (0 means "never"). */
function firstBound(...ms: number[]): number | undefined {
  return ms.find((m) => m > 0);
}

/**
 * Long enough for the endpoint drain plus the longest a client may keep PgBouncer busy: a running query
 * (query_timeout, else statement_timeout) or, with WAIT_FOR_CLIENTS, an idle pooled client waiting for
 * its pool to close it. Zero means "never" for those timeouts, so a minute stands in for them then.
 */
export function pgbouncerTerminationGraceSeconds(cfg: StackConfig): number {
  const pb = cfg.pgbouncer;
  const fallbackMs = 60_000;
  const queryMs = firstBound(pb.queryTimeout, cfg.postgres.statementTimeout) ?? fallbackMs;
  const idleMs = hasWaitForClients(cfg) ? (firstBound(cfg.probe.postgresIdleTimeout, pb.clientIdleTimeout) ?? fallbackMs) : 0;
  const marginSeconds = 5;
  return ENDPOINT_DRAIN_SECONDS + Math.ceil(Math.max(queryMs, idleMs) / 1000) + marginSeconds;
}
