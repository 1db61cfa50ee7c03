/** Writes rendered files atomically, readable only by the user that runs the servers. */
import { chownSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunAs } from "./system.ts";

export interface Layout {
  dataDir: string;
  confDir: string;
  pgData: string;
  redisDir: string;
  logDir: string;
  secretsFile: string;
}

export function layoutOf(dataDir: string): Layout {
  return {
    dataDir,
    confDir: join(dataDir, "conf"),
    pgData: join(dataDir, "pgdata"),
    redisDir: join(dataDir, "redis"),
    logDir: join(dataDir, "logs"),
    secretsFile: join(dataDir, "secrets.json"),
  };
}

export function makeDirs(l: Layout, owner: RunAs | undefined): void {
  mkdirSync(l.dataDir, { recursive: true, mode: 0o755 });
  for (const dir of [l.confDir, l.redisDir, l.logDir]) mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (owner) {
    chownSync(l.confDir, owner.uid, owner.gid);
  }
}

/**
 * Write then rename, so a server that reloads never reads half a file. Secret files get mode 0600 and
 * belong to the server user.
 */
export function writeAtomic(file: string, text: string, opts: { secret?: boolean; owner?: RunAs | undefined } = {}): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: opts.secret ? 0o600 : 0o644 });
  if (opts.owner) chownSync(tmp, opts.owner.uid, opts.owner.gid);
  renameSync(tmp, file);
}
