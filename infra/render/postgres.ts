/** postgresql.conf and pg_hba.conf from the typed stack config. */
import type { StackConfig } from "../config/index.ts";
import { renderFile, sortedSettings } from "./template.ts";
import { tlsFilesFor, type TlsFiles } from "./tls.ts";
import { FILES } from "./names.ts";

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
  /** PostgreSQL's certificate, its key and the stack's CA: needed when pooling:tls.enabled. */
  tls?: TlsFiles;
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

/**
 * Every ssl_* setting has context `sighup` (`postgres --describe-config` of the installed 15 says so; the
 * GUC table in src/backend/utils/misc has had it since 10), so a renewed certificate needs pg_reload_conf(),
 * not a restart: the postmaster builds a new SSL context from the files on reload (be_tls_init). ssl_ca_file is set only when clients must
 * present certificates: with it, the server asks every client for one.
 */
function postgresTlsSettings(cfg: StackConfig, rt: PostgresRuntime) {
  const tls = tlsFilesFor(cfg, rt.tls, "postgres");
  if (!tls) return { ssl: false };
  return {
    ssl: true,
    ssl_ca_file: cfg.tls.clientCertificates ? tls.ca : undefined,
    ssl_cert_file: tls.cert,
    ssl_key_file: tls.key,
    ssl_min_protocol_version: cfg.tls.minVersion,
  };
}

export function postgresSettings(cfg: StackConfig, rt: PostgresRuntime) {
  const pg = cfg.postgres;
  return {
    ...postgresTlsSettings(cfg, rt),
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
  return renderFile("postgresqlConf", FILES.postgresqlConf, cfg.stack, { settings: sortedSettings(postgresSettings(cfg, rt), quote) });
}

/** Every address a TCP client can come from: a hostnossl line for these refuses any plaintext login. */
const ANY_ADDRESS = ["0.0.0.0/0", "::/0"] as const;

/**
 * With TLS on, TCP logins are `hostssl … scram-sha-256` only (plus `clientcert=verify-ca` when clients
 * must present certificates: the chain is checked, the password still names the role), and a first
 * `hostnossl … reject` refuses plaintext from anywhere before any other line is read.
 */
export function renderPgHbaConf(cfg: StackConfig, rt: PostgresRuntime): string {
  const tls = cfg.tls.enabled;
  const method = tls && cfg.tls.clientCertificates ? "scram-sha-256 clientcert=verify-ca" : "scram-sha-256";
  const rules = [
    ...(rt.unixSocketDir ? [{ type: "local", database: "all", user: "all", address: "", method: "scram-sha-256" }] : []),
    ...(tls ? ANY_ADDRESS.map((address) => ({ type: "hostnossl", database: "all", user: "all", address, method: "reject" })) : []),
    ...rt.hbaNetworks.map((address) => ({ type: tls ? "hostssl" : "host", database: "all", user: "all", address, method })),
  ];
  return renderFile("pgHbaConf", FILES.pgHbaConf, cfg.stack, { rules });
}
