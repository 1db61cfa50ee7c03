/** Writes rendered files atomically, readable only by the user that runs the servers. */
import { chmodSync, chownSync, mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DataDirUnreachableError } from "./errors.ts";
import type { RunAs } from "./system.ts";

export interface Layout {
  dataDir: string;
  confDir: string;
  pgData: string;
  redisDir: string;
  logDir: string;
  secretsFile: string;
  /** The CA and the numbered generations of leaves (local/tls.ts). */
  tlsDir: string;
}

export function layoutOf(dataDir: string): Layout {
  return {
    dataDir,
    confDir: join(dataDir, "conf"),
    pgData: join(dataDir, "pgdata"),
    redisDir: join(dataDir, "redis"),
    logDir: join(dataDir, "logs"),
    secretsFile: join(dataDir, "secrets.json"),
    tlsDir: join(dataDir, "tls"),
  };
}

/**
 * The server user must be able to walk down to the data folder; say which folder stops it rather than
 * let initdb fail with a bare "Permission denied".
 */
function assertReachable(dir: string, user: RunAs): void {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = statSync(d);
    const canEnter = st.uid === user.uid ? (st.mode & 0o100) !== 0 : st.gid === user.gid ? (st.mode & 0o010) !== 0 : (st.mode & 0o001) !== 0;
    if (!canEnter) {
      throw new DataDirUnreachableError(user.name, d);
    }
    if (d === dirname(d)) return;
  }
}

export function makeDirs(l: Layout, owner: RunAs | undefined): void {
  mkdirSync(l.dataDir, { recursive: true, mode: 0o755 });
  if (owner) {
    assertReachable(l.dataDir, owner);
    chmodSync(l.dataDir, 0o755);
  }
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
