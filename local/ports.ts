/**
 * Ports for the local stack, and telling a port taken in the meantime from any other start-up failure.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";
import type { StackConfig } from "../infra/config/index.ts";
import { PortsTakenError } from "./errors.ts";
import type { Layout } from "./files.ts";
import type { Log } from "./supervisor.ts";
import { freePort } from "./system.ts";

/** `n` ports the OS called free; it may hand out a port twice, so repeats are asked again. */
export async function distinctFreePorts(n: number, nextFree: () => Promise<number> = freePort): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await nextFree());
  return [...ports];
}

const LOGS = ["postgres.log", "pgbouncer.log", "redis.log", "probe.log"] as const;
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

/** Whether 127.0.0.1:port can be bound right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export interface LocalPorts {
  postgres: number;
  pgbouncer: number;
  redis: number;
  probe: number;
}

const SERVERS = { postgres: "PostgreSQL", pgbouncer: "PgBouncer", redis: "Redis", probe: "the probe app" } as const;

/**
 * The stack file's ports, so the URLs an app keeps in its .env stay valid across restarts; a port that
 * is taken is moved to a free one, and `moved` says which and why. With `free`, every port is a fresh
 * free one (tests, several stacks side by side).
 */
export async function choosePorts(cfg: StackConfig, opts: { free: boolean }): Promise<{ ports: LocalPorts; moved: string[] }> {
  const wanted: LocalPorts = { postgres: cfg.postgres.port, pgbouncer: cfg.pgbouncer.port, redis: cfg.redis.port, probe: cfg.probe.port };
  const names = Object.keys(wanted) as (keyof LocalPorts)[];
  if (opts.free) {
    const free = await distinctFreePorts(names.length);
    return { ports: Object.fromEntries(names.map((n, i) => [n, free[i]!])) as unknown as LocalPorts, moved: [] };
  }
  const ports = { ...wanted };
  const moved: string[] = [];
  const inUse = new Set(Object.values(wanted));
  for (const name of names) {
    if (await isPortFree(wanted[name])) continue;
    let port: number;
    do port = await freePort();
    while (inUse.has(port));
    inUse.add(port);
    ports[name] = port;
    moved.push(
      `pooling:${name}.port ${wanted[name]} is already in use on 127.0.0.1 by another process, so ${SERVERS[name]} listens on 127.0.0.1:${port} for this run ` +
        "(free that port, or set another one in the stack file, to keep the address stable)",
    );
  }
  return { ports, moved };
}

/** Attempts at starting the stack when other processes keep taking its ports meanwhile. */
export const START_ATTEMPTS = 3;

/**
 * A free port is only free until someone binds it: another stack starting at the same moment may take
 * one first. Then `start` runs again (choosing its ports anew) rather than fail, up to START_ATTEMPTS in
 * all; `portTaken` says whether the failure was that. Any other failure is rethrown at once.
 */
export async function retryOnTakenPort<T>(start: () => Promise<T>, portTaken: () => boolean, say: Log): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!portTaken()) throw err;
      if (attempt >= START_ATTEMPTS) throw new PortsTakenError(attempt, err);
      say("a port was taken by another process meanwhile; starting again");
    }
  }
}
