/**
 * The names in the render CLI's output that its readers rely on: the label that says what role each
 * object plays, the files the renderer writes (each also the key of the ConfigMap or Secret that carries
 * it), the keys of the TLS Secrets, and PgBouncer's admin database. The renderer, the manifest builders, the policy pack, the local stack and the pod
 * runner's checks all take them from here, so a rename reaches every reader at once. This module imports
 * nothing: it is the one file of infra/ the pod runner, which takes the render CLI's output as data, may
 * import (eslint.config.js).
 */

/** The label every object of the stack carries with its role (one of Kubernetes' recommended labels). */
export const ROLE_LABEL = "app.kubernetes.io/component";

/** The role each server plays, as ROLE_LABEL gives it: readers find objects by role, never by name. */
export const ROLES = { postgres: "database", pgbouncer: "pooler", redis: "cache", probe: "probe" } as const;
export type Role = (typeof ROLES)[keyof typeof ROLES];

/** The rendered files, by what they are. */
export const FILES = {
  postgresqlConf: "postgresql.conf",
  pgHbaConf: "pg_hba.conf",
  pgbouncerIni: "pgbouncer.ini",
  pgbouncerHba: "pgbouncer_hba.conf",
  userlist: "userlist.txt",
  redisConf: "redis.conf",
  /** Secret: holds the Redis password. */
  redisAuthConf: "redis-auth.conf",
} as const;
export type FileName = (typeof FILES)[keyof typeof FILES];

/** The keys of a server's TLS Secret (and of the client pair's), each mounted as a file of that name. */
export const TLS_KEYS = { ca: "ca.crt", cert: "tls.crt", key: "tls.key", clientCert: "client.crt", clientKey: "client.key" } as const;

/**
 * PgBouncer's admin console is the virtual database of this name, fixed by PgBouncer itself (doc/usage.md,
 * "Admin console": "The console is available by connecting as normal to the database pgbouncer").
 */
export const PGBOUNCER_ADMIN_DATABASE = "pgbouncer";
