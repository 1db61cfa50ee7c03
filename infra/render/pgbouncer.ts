/** pgbouncer.ini and userlist.txt from the typed stack config. */
import type { StackConfig } from "../config/index.ts";
import { connectionBudget, poolDerivationNote } from "../config/index.ts";
import { verifierOf, type StackSecrets } from "./secrets.ts";
import { contentHash, renderFile, sortedSettings } from "./template.ts";
import { pgbouncerTlsProtocols, tlsFilesFor, type TlsFiles } from "./tls.ts";
import { FILES } from "./names.ts";

/** PgBouncer's TLS files: its own serving pair and the CA, and the client pair it shows PostgreSQL when asked. */
export interface PgbouncerTlsFiles extends TlsFiles {
  /** Needed when pooling:tls.clientCertificates: PostgreSQL then wants a certificate from PgBouncer too. */
  clientCert?: string;
  clientKey?: string;
}

export interface PgbouncerRuntime {
  listenAddr: string;
  /** PostgreSQL as PgBouncer reaches it. */
  serverHost: string;
  serverPort: number;
  /** Absolute path of userlist.txt as PgBouncer will see it. */
  authFile: string;
  /** Absolute path of pgbouncer_hba.conf as PgBouncer will see it. */
  hbaFile: string;
  /** CIDRs the app and the stats user may log in from; the admin user only ever from loopback. */
  clientNetworks: readonly string[];
  /** unix_socket_dir; "" for none. */
  unixSocketDir: string;
  pidfile?: string;
  logfile?: string;
  /** Overrides pooling:pgbouncer.port (the local stack picks a free port). */
  listenPort?: number;
  /** Needed when pooling:tls.enabled. */
  tls?: PgbouncerTlsFiles;
}

/**
 * Settings PgBouncer reads only at start. A change to any of them must restart it (on Kubernetes, a
 * checksum of these values on the pod template rolls the Deployment); every other setting is applied
 * with RELOAD and no client is dropped.
 */
export const PGBOUNCER_RESTART_SETTINGS = [
  "listen_addr",
  "listen_port",
  "unix_socket_dir",
  "unix_socket_mode",
  "unix_socket_group",
  "so_reuseport",
  "user",
  "pidfile",
] as const;

/** Seconds as PgBouncer reads them; it takes fractions. */
const seconds = (ms: number) => String(ms / 1000);
const flag = (b: boolean) => (b ? 1 : 0);

/**
 * Client side: TLS required (verify-full, which for a client means a certificate signed by
 * client_tls_ca_file, when clients must present one). Server side: verify-full against the stack's CA, so
 * the host in [databases] must be a name PostgreSQL's certificate carries. Every one of these settings is
 * in PgBouncer's doc/config.md at 1.18 and at 1.24, and none needs a restart: RELOAD and SIGHUP run
 * sbuf_tls_setup() again after reading the files (src/admin.c, src/main.c handle_sighup), which builds a
 * new TLS context from the files, or logs "TLS configuration could not be reloaded, keeping old
 * configuration" and keeps the old one. That silent keep is why a renewed pair is checked before the reload.
 */
function pgbouncerTlsSettings(cfg: StackConfig, rt: PgbouncerRuntime): Record<string, string | undefined> {
  const tls = tlsFilesFor(cfg, rt.tls, "pgbouncer");
  if (!tls) return { client_tls_sslmode: "disable", server_tls_sslmode: "disable" };
  const clientCerts = cfg.tls.clientCertificates;
  if (clientCerts && (tls.clientCert === undefined || tls.clientKey === undefined)) throw new Error("pooling:tls.clientCertificates is true but the pgbouncer runtime names no client certificate");
  const protocols = pgbouncerTlsProtocols(cfg);
  return {
    client_tls_ca_file: clientCerts ? tls.ca : undefined,
    client_tls_cert_file: tls.cert,
    client_tls_key_file: tls.key,
    client_tls_protocols: protocols,
    client_tls_sslmode: clientCerts ? "verify-full" : "require",
    server_tls_ca_file: tls.ca,
    server_tls_cert_file: clientCerts ? tls.clientCert : undefined,
    server_tls_key_file: clientCerts ? tls.clientKey : undefined,
    server_tls_protocols: protocols,
    server_tls_sslmode: "verify-full",
  };
}

export function pgbouncerSettings(cfg: StackConfig, rt: PgbouncerRuntime): Record<string, string | number | undefined> {
  const pb = cfg.pgbouncer;
  const tunable = {
    client_idle_timeout: seconds(pb.clientIdleTimeout),
    client_login_timeout: seconds(pb.clientLoginTimeout),
    default_pool_size: pb.defaultPoolSize,
    log_connections: flag(pb.logConnections),
    log_disconnections: flag(pb.logDisconnections),
    log_pooler_errors: 1,
    max_client_conn: pb.maxClientConn,
    max_prepared_statements: pb.maxPreparedStatements,
    min_pool_size: pb.minPoolSize,
    pool_mode: pb.poolMode,
    query_timeout: seconds(pb.queryTimeout),
    query_wait_timeout: seconds(pb.queryWaitTimeout),
    reserve_pool_size: pb.reservePoolSize,
    reserve_pool_timeout: seconds(pb.reservePoolTimeout),
    server_connect_timeout: seconds(pb.serverConnectTimeout),
    server_idle_timeout: seconds(pb.serverIdleTimeout),
    server_lifetime: seconds(pb.serverLifetime),
    server_login_retry: seconds(pb.serverLoginRetry),
    // An integer setting: whole seconds, rounded up.
    stats_period: Math.ceil(pb.statsPeriod / 1000),
  };
  // Forced last, like cloudnative-pg's pooler: these always win over anything tunable.
  const forced = {
    admin_users: pb.adminUser,
    auth_file: rt.authFile,
    // hba: per-user rules (see renderPgbouncerHba), each line SCRAM-SHA-256.
    auth_hba_file: rt.hbaFile,
    auth_type: "hba",
    // Drivers such as JDBC and Prisma send these; PgBouncer would refuse the login otherwise.
    ignore_startup_parameters: "extra_float_digits,options",
    listen_addr: rt.listenAddr,
    listen_port: rt.listenPort ?? pb.port,
    logfile: rt.logfile,
    // The budget check promises (replicas + rollout surge) × this ≤ PostgreSQL's usable connections;
    // enforce it per pod.
    max_db_connections: connectionBudget(cfg).perReplica,
    pidfile: rt.pidfile,
    stats_users: pb.statsUser,
    unix_socket_dir: rt.unixSocketDir,
    ...pgbouncerTlsSettings(cfg, rt),
  };
  return { ...tunable, ...forced };
}

export function renderPgbouncerIni(cfg: StackConfig, rt: PgbouncerRuntime): string {
  const pg = cfg.postgres;
  const databases = [{ name: pg.database, connection: `host=${rt.serverHost} port=${rt.serverPort} dbname=${pg.database}` }];
  // Only derived sizes get a note, so a stack file that sets all three renders exactly as before.
  const note = poolDerivationNote(cfg);
  const notes = note === undefined ? [] : [note];
  return renderFile("pgbouncerIni", FILES.pgbouncerIni, cfg.stack, { notes, databases, settings: sortedSettings(pgbouncerSettings(cfg, rt), String) }, ";;");
}

/** A hash of the settings PgBouncer cannot reload: the pod-template annotation that rolls pods. */
export function pgbouncerRestartChecksum(cfg: StackConfig, rt: PgbouncerRuntime): string {
  const all = pgbouncerSettings(cfg, rt);
  const restart = PGBOUNCER_RESTART_SETTINGS.map((k) => `${k}=${all[k] ?? ""}`).join("\n");
  return contentHash(restart);
}

/** Loopback only: the admin console (RELOAD, PAUSE, SHUTDOWN) is for processes in the same pod or host. */
export const LOOPBACK_NETWORKS = ["127.0.0.1/32", "::1/128"] as const;

/**
 * pgbouncer_hba.conf: the stats user reaches only the console, for SHOW commands; the admin user only
 * the console and only from loopback. The app user's line says `all` so that a wrong database name gets
 * PgBouncer's clear "no such database" (only the app database is defined, and the console admits only
 * the console users). Anything else is refused.
 */
export function renderPgbouncerHba(cfg: StackConfig, rt: PgbouncerRuntime): string {
  // hostssl: PgBouncer's hba reads the same line types as PostgreSQL's (src/hba.c); with TLS on, a
  // plaintext client is refused by client_tls_sslmode before it gets here anyway.
  const type = cfg.tls.enabled ? "hostssl" : "host";
  const rule = (database: string, user: string, address: string) => ({ type, database, user, address, method: "scram-sha-256" });
  const rules = [
    ...rt.clientNetworks.map((net) => rule("all", cfg.postgres.user, net)),
    ...rt.clientNetworks.map((net) => rule("pgbouncer", cfg.pgbouncer.statsUser, net)),
    ...LOOPBACK_NETWORKS.map((net) => rule("pgbouncer", cfg.pgbouncer.adminUser, net)),
  ];
  return renderFile("pgbouncerHbaConf", FILES.pgbouncerHba, cfg.stack, { rules });
}

/** userlist.txt: SCRAM verifiers only, never a password. */
export function renderUserlist(cfg: StackConfig, secrets: StackSecrets): string {
  const users = [
    { name: cfg.postgres.user, verifier: verifierOf(secrets.app) },
    { name: cfg.pgbouncer.adminUser, verifier: verifierOf(secrets.pgbouncerAdmin) },
    { name: cfg.pgbouncer.statsUser, verifier: verifierOf(secrets.pgbouncerStats) },
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  return renderFile("userlistTxt", FILES.userlist, cfg.stack, { users }, ";;");
}
