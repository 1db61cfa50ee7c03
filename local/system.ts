/** Small facts about the machine the local stack runs on: free ports, the unprivileged user. */
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { ServerUserMissingError } from "./errors.ts";

/** A port the kernel says is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

/**
 * PostgreSQL and PgBouncer refuse to run as root. As root, run them as the `postgres` system user that
 * the PostgreSQL package creates; as anyone else, as that same user.
 */
export function serverUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) {
    throw new ServerUserMissingError();
  }
  return { uid: Number(uid), gid: Number(gid), name: "postgres" };
}

/** util-linux's setpriv, which sets the parent-death signal and then execs the command (same pid). */
const SETPRIV = (process.env.PATH ?? "")
  .split(delimiter)
  .filter(Boolean)
  .map((dir) => join(dir, "setpriv"))
  .find((p) => existsSync(p));

/**
 * The command line that makes `argv` get SIGKILL when the process that spawned it dies, however it
 * dies (SIGKILL included). Linux only; elsewhere the command runs as given and the CLI's own shutdown
 * and the next start's clean-up are what stop the servers.
 */
export function parentDeathWrapper(argv: string[]): string[] {
  if (process.platform !== "linux" || !SETPRIV) return argv;
  return [SETPRIV, "--pdeathsig", "KILL", "--", ...argv];
}

export const hasParentDeathSignal = (): boolean => process.platform === "linux" && SETPRIV !== undefined;
