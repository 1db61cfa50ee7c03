/** postgresql.conf and pg_hba.conf from the typed stack config. */
import type { StackConfig } from "../config/index.ts";
import { renderFile, sortedSettings } from "./template.ts";

export interface PostgresRuntime {
  /** listen_addresses: "*" in a pod, "127.0.0.1" on loopback. */
  listenAddresses: string;
  port: number;
  /** unix_socket_directories; "" for none. */
  unixSocketDir: string;
  /** Absolute path of pg_hba.conf as the server will see it. */
  hbaFile: string;
  /** CIDRs allowed to log in over TCP (always with SCRAM). */
  hbaNetworks: readonly string[];
}

/** PostgreSQL's own duration syntax ("min", not "m"). */
export function pgDuration(ms: number): string {
  if (ms === 0) return "0";
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["min", 60_000], ["s", 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** PostgreSQL's size syntax, kB-based (it has no bytes unit for memory settings). */
export function pgSize(bytes: number): string {
  for (const [unit, size] of [["GB", 1024 ** 3], ["MB", 1024 ** 2]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${Math.ceil(bytes / 1024)}kB`;
}

const quote = (v: string | number | boolean) => (typeof v === "number" ? String(v) : typeof v === "boolean" ? (v ? "on" : "off") : `'${v}'`);

export function postgresSettings(cfg: StackConfig, rt: PostgresRuntime) {
  const pg = cfg.postgres;
  return {
    effective_cache_size: pgSize(pg.effectiveCacheSize),
    hba_file: rt.hbaFile,
    idle_in_transaction_session_timeout: pgDuration(pg.idleInTransactionSessionTimeout),
    listen_addresses: rt.listenAddresses,
    lock_timeout: pgDuration(pg.lockTimeout),
    log_connections: false,
    log_destination: "stderr",
    log_line_prefix: "%m [%p] %q%u@%d ",
    logging_collector: false,
    maintenance_work_mem: pgSize(pg.maintenanceWorkMem),
    max_connections: pg.maxConnections,
    password_encryption: "scram-sha-256",
    port: rt.port,
    shared_buffers: pgSize(pg.sharedBuffers),
    statement_timeout: pgDuration(pg.statementTimeout),
    superuser_reserved_connections: pg.superuserReservedConnections,
    unix_socket_directories: rt.unixSocketDir,
    work_mem: pgSize(pg.workMem),
  };
}

export function renderPostgresqlConf(cfg: StackConfig, rt: PostgresRuntime): string {
  return renderFile("postgresqlConf", "postgresql.conf", cfg.stack, { settings: sortedSettings(postgresSettings(cfg, rt), quote) });
}

export function renderPgHbaConf(cfg: StackConfig, rt: PostgresRuntime): string {
  const rules = [
    ...(rt.unixSocketDir ? [{ type: "local", database: "all", user: "all", address: "", method: "scram-sha-256" }] : []),
    ...rt.hbaNetworks.map((address) => ({ type: "host", database: "all", user: "all", address, method: "scram-sha-256" })),
  ];
  return renderFile("pgHbaConf", "pg_hba.conf", cfg.stack, { rules });
}
