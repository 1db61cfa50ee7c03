/**
 * How the PostgreSQL pod creates and stops its cluster without the image's docker-entrypoint.sh: an init
 * container runs initdb and the app-role SQL, then the main container runs `postgres` itself as PID 1 (as
 * CloudNativePG's instance manager does). Shell run by the postgres image's own `sh`; the binaries come
 * from the image's PATH (docker-library/postgres 17/bookworm/Dockerfile: `ENV PATH
 * $PATH:/usr/lib/postgresql/$PG_MAJOR/bin`).
 */

/** Where the claim is mounted. PGDATA is a subdirectory of it: the volume's root may hold lost+found. */
export const PGDATA_MOUNT = "/var/lib/postgresql/data";
export const PGDATA = `${PGDATA_MOUNT}/pgdata`;
/** The init container's private socket directory: the temporary server listens on nothing else. */
const INIT_SOCKET_DIR = "/tmp";
/** Where the init container finds the role SQL (the Secret's key of that name). */
export const INIT_SQL_DIR = "/etc/postgresql-init";
export const INIT_SQL = "10-app-role.sql";

/**
 * The init container's script. Every start: PGDATA exists and is 0700 — storage that applies fsGroup
 * makes the claim group-writable, recursively, and PostgreSQL refuses a data directory with group write
 * ("has invalid permissions"). First start only: initdb into a staging directory, the role SQL through a
 * temporary server that listens on a private socket only, then one rename, so a start that failed half
 * way is redone from scratch instead of leaving a cluster without its role.
 */
export function postgresInitScript(): string {
  const staging = `${PGDATA}.initdb`;
  return [
    "set -eu",
    "umask 077",
    `if [ ! -s ${PGDATA}/PG_VERSION ]; then`,
    `  rm -rf ${staging}`,
    `  pwfile=${INIT_SOCKET_DIR}/superuser-password`,
    '  printf "%s\\n" "$POSTGRES_PASSWORD" > "$pwfile"',
    `  initdb -D ${staging} --username=postgres --pwfile="$pwfile" --auth=scram-sha-256 --encoding=UTF8 --locale=C`,
    '  rm -f "$pwfile"',
    `  pg_ctl -D ${staging} -w -t 60 -o "-c listen_addresses='' -c unix_socket_directories=${INIT_SOCKET_DIR}" start`,
    `  PGPASSWORD="$POSTGRES_PASSWORD" psql -X -v ON_ERROR_STOP=1 -h ${INIT_SOCKET_DIR} -U postgres -d postgres -f ${INIT_SQL_DIR}/${INIT_SQL}`,
    `  pg_ctl -D ${staging} -w -t 60 -m fast stop`,
    `  rm -rf ${PGDATA}`,
    `  mv ${staging} ${PGDATA}`,
    '  echo "initialised a new cluster in PGDATA"',
    "fi",
    // g-s too: chmod keeps a directory's setgid bit, which fsGroup storage sets, unless told otherwise.
    `chmod 0700 ${PGDATA}`,
    `chmod g-s ${PGDATA}`,
  ].join("\n");
}

/**
 * preStop: a fast shutdown. SIGTERM is PostgreSQL's *smart* shutdown, which waits for every client to
 * leave; PgBouncer's pooled server connections never do, so it would run into the grace period and end in
 * a SIGKILL and crash recovery. SIGINT is the fast shutdown. The image declares `STOPSIGNAL SIGINT`
 * (docker-library/postgres 17/bookworm/Dockerfile), but whether that reaches the container depends on the
 * runtime; the hook makes it explicit: SIGINT to PID 1, which is `postgres` in this container, then hold
 * until it has exited. The hook itself ends when PID 1 exits (the runtime kills what is left of the
 * container), which the kubelet may log as a failed hook: that is the expected end.
 */
export function postgresPreStopScript(): string {
  return ["kill -INT 1", "while kill -0 1 2>/dev/null; do sleep 1; done"].join("\n");
}
