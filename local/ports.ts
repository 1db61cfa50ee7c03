/**
 * Ports for the local stack, and telling a port taken in the meantime from any other start-up failure.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Layout } from "./files.ts";
import { freePort } from "./system.ts";

export async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const LOGS = ["postgres.log", "pgbouncer.log", "redis.log"] as const;
const BIND_FAILURE = /address already in use|could not bind|could not create server tcp listening socket/i;

export function logSizesOf(l: Layout): number[] {
  return LOGS.map((f) => (existsSync(join(l.logDir, f)) ? statSync(join(l.logDir, f)).size : 0));
}

/** Whether a server said, since `sizes` were taken, that it could not bind its port. */
export function portWasTaken(l: Layout, sizes: number[]): boolean {
  return LOGS.some((f, i) => {
    const file = join(l.logDir, f);
    return existsSync(file) && BIND_FAILURE.test(readFileSync(file).subarray(sizes[i]).toString("utf8"));
  });
}
