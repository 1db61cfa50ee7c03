/** Errors of the local stack: each has a stable `code`, so the CLI and tests branch on it, not on text. */

export class DataDirInUseError extends Error {
  readonly code = "POOLING_DATA_DIR_IN_USE";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `another \`npm start\` (pid ${pid}) is running the stack in ${dataDir}. Stop it first (Ctrl-C in its terminal, or \`kill ${pid}\`), ` +
        "or give this one its own folder with --data-dir",
    );
    this.name = "DataDirInUseError";
  }
}

export class LeftoverServerError extends Error {
  readonly code = "POOLING_LEFTOVER_SERVER";
  constructor(
    readonly server: string,
    readonly pid: number,
    readonly dataDir: string,
  ) {
    super(`${server} (pid ${pid}) still runs on ${dataDir} and did not stop when asked. Stop it with \`kill -KILL ${pid}\`, then start again`);
    this.name = "LeftoverServerError";
  }
}

export class ServiceStartError extends Error {
  readonly code = "POOLING_SERVICE_START";
  constructor(
    readonly service: string,
    readonly logFile: string,
    reason: string,
  ) {
    super(`${service} ${reason} (its log: ${logFile})`);
    this.name = "ServiceStartError";
  }
}

export class PortsTakenError extends Error {
  readonly code = "POOLING_PORTS_TAKEN";
  constructor(readonly details: string) {
    super(details);
    this.name = "PortsTakenError";
  }
}
