import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { layoutOf } from "../../local/files.ts";
import { distinctFreePorts, logSizesOf, portWasTaken, retryOnTakenPort, START_ATTEMPTS } from "../../local/ports.ts";

const dirs: string[] = [];
function layoutWithLogs(logs: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "pooling-ports-"));
  dirs.push(dir);
  const l = layoutOf(dir);
  mkdirSync(l.logDir, { recursive: true });
  for (const [f, text] of Object.entries(logs)) writeFileSync(join(l.logDir, f), text);
  return l;
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("starting again on new ports", () => {
  it("recognises PostgreSQL's bind failure written during this attempt", () => {
    const l = layoutWithLogs({ "postgres.log": "old run\n" });
    const sizes = logSizesOf(l);
    appendFileSync(join(l.logDir, "postgres.log"), 'LOG:  could not bind IPv4 address "127.0.0.1": Address already in use\n');
    expect(portWasTaken(l, sizes)).toBe(true);
  });

  it("ignores a bind failure from an earlier run, already in the log", () => {
    const l = layoutWithLogs({ "pgbouncer.log": "ERROR bind(): Address already in use\n" });
    const sizes = logSizesOf(l);
    appendFileSync(join(l.logDir, "pgbouncer.log"), "FATAL some other failure\n");
    expect(portWasTaken(l, sizes)).toBe(false);
  });

  it("recognises Redis's bind failure", () => {
    const l = layoutWithLogs({});
    const sizes = logSizesOf(l);
    writeFileSync(join(l.logDir, "redis.log"), "# Warning: Could not create server TCP listening socket 127.0.0.1:6379: bind: Address already in use\n");
    expect(portWasTaken(l, sizes)).toBe(true);
  });

  it("asks again when the OS hands out a port it gave before", async () => {
    const offered = [5001, 5001, 5002, 5001, 5003];
    const ports = await distinctFreePorts(3, async () => offered.shift()!);
    expect(ports).toEqual([5001, 5002, 5003]);
  });
});

describe("retryOnTakenPort", () => {
  const failing = (errors: Error[]) => {
    let calls = 0;
    const start = async () => {
      const err = errors[calls++];
      if (err) throw err;
      return "started";
    };
    return { start, calls: () => calls };
  };

  it("starts again after a port was taken, saying so, and returns what the later attempt started", async () => {
    const said: string[] = [];
    const run = failing([new Error("postgres exited during start-up")]);
    await expect(retryOnTakenPort(run.start, () => true, (m) => said.push(m))).resolves.toBe("started");
    expect(run.calls()).toBe(2);
    expect(said).toEqual(["a port was taken by another process meanwhile; starting again"]);
  });

  it("gives up with POOLING_PORTS_TAKEN, keeping the last failure as its cause, when every attempt lost a port", async () => {
    const last = new Error("redis exited during start-up");
    const run = failing([...Array.from({ length: START_ATTEMPTS - 1 }, () => new Error("taken")), last]);
    const err = await retryOnTakenPort(run.start, () => true, () => undefined).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "PortsTakenError", code: "POOLING_PORTS_TAKEN", attempts: START_ATTEMPTS, cause: last });
    expect(run.calls()).toBe(START_ATTEMPTS);
  });

  it("rethrows any other failure at once", async () => {
    const other = new Error("initdb failed");
    const run = failing([other]);
    await expect(retryOnTakenPort(run.start, () => false, () => undefined)).rejects.toBe(other);
    expect(run.calls()).toBe(1);
  });
});
