/** Errors of the local stack: each has a stable `code`, so the CLI and tests branch on it, not on text. */
import { PoolingError } from "../infra/errors.ts";

/** Another `npm start` runs the stack in this data folder. */
export class DataDirInUseError extends PoolingError {
  readonly code = "POOLING_DATA_DIR_IN_USE";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `another \`npm start\` (pid ${pid}) is running the stack in ${dataDir}. Stop it first (Ctrl-C in its terminal, or \`kill ${pid}\`), ` +
        "or give this one its own folder with --data-dir",
    );
  }
}

/** A server an earlier run left behind still runs on the data folder and did not stop when asked. */
export class LeftoverServerError extends PoolingError {
  readonly code = "POOLING_LEFTOVER_SERVER";
  constructor(
    readonly server: string,
    readonly pid: number,
    readonly dataDir: string,
  ) {
    super(`${server} (pid ${pid}) still runs on ${dataDir} and did not stop when asked. Stop it with \`kill -KILL ${pid}\`, then start again`);
  }
}

/** A server exited during start-up or did not answer in time. */
export class ServiceStartError extends PoolingError {
  readonly code = "POOLING_SERVICE_START";
  constructor(
    readonly service: string,
    readonly logFile: string,
    reason: string,
  ) {
    super(`${service} ${reason} (its log: ${logFile})`);
  }
}

/** Another process took a port of the stack while it started, on every attempt. */
export class PortsTakenError extends PoolingError {
  readonly code = "POOLING_PORTS_TAKEN";
  constructor(
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `another process took a port of the stack while it started, ${attempts} times in a row (last: ${(cause as Error).message}). ` +
        "Free the stack file's ports, or start with --free-ports",
      { cause },
    );
  }
}

/** postgres, pgbouncer or redis-server is not installed (and was not installed for us). */
export class MissingBinaryError extends PoolingError {
  readonly code = "POOLING_MISSING_BINARY";
  constructor(
    readonly binary: string,
    readonly installCommand: string,
  ) {
    super(`${binary} is not installed. Install it with: ${installCommand}`);
  }
}

/** A binary answered `--version` with something we cannot read a version from. */
export class BinaryVersionError extends PoolingError {
  readonly code = "POOLING_BINARY_VERSION_UNREADABLE";
  constructor(
    readonly binary: string,
    output: string,
  ) {
    super(`cannot read the version of ${binary} from: ${output.trim()}`);
  }
}

/** Installing a missing binary with apt-get failed. */
export class AptInstallError extends PoolingError {
  readonly code = "POOLING_APT_INSTALL_FAILED";
  constructor(
    readonly args: readonly string[],
    readonly status: number | null,
  ) {
    super(`apt-get ${args.join(" ")} failed with exit code ${status}`);
  }
}

/** Running as root, but there is no unprivileged `postgres` user to run PostgreSQL and PgBouncer as. */
export class ServerUserMissingError extends PoolingError {
  readonly code = "POOLING_SERVER_USER_MISSING";
  constructor() {
    super("running as root, but there is no `postgres` user to run PostgreSQL and PgBouncer as: install the postgresql package or run as an unprivileged user");
  }
}

/** The server user cannot walk down to the data folder. */
export class DataDirUnreachableError extends PoolingError {
  readonly code = "POOLING_DATA_DIR_UNREACHABLE";
  constructor(
    readonly user: string,
    readonly dir: string,
  ) {
    super(`PostgreSQL and PgBouncer run as user ${user}, who cannot enter ${dir}: allow it (chmod o+x ${dir}) or choose a data folder elsewhere (--data-dir)`);
  }
}

/** initdb could not create the PostgreSQL cluster. */
export class InitdbError extends PoolingError {
  readonly code = "POOLING_INITDB_FAILED";
  constructor(status: number | null, detail: string) {
    super(`initdb failed (exit ${status}): ${detail}`);
  }
}

/** The data folder's secrets.json is not what the stack wrote (hand-edited, truncated). */
export class SecretsFileError extends PoolingError {
  readonly code = "POOLING_SECRETS_FILE_INVALID";
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file} cannot be used: ${reason}. Restore it, or start with --fresh to generate new secrets (this deletes the data folder)`);
  }
}
