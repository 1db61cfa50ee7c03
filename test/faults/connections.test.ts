import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionBudget, pgbouncerClientBytes, pgbouncerMemoryNeeded } from "../../infra/config/index.ts";
import { connectionHoldOverrides, holdConnections, type ConnectionLoadResult } from "./connections.ts";
import { startFaultStack, type FaultStack } from "./stack.ts";

// The short form of the 10,000-connection run in `npm run test:faults -- --connections 10000`.
const CLIENTS = 2000;

describe(`${CLIENTS} client connections held through PgBouncer under load`, () => {
  let fs: FaultStack | undefined;
  let result: ConnectionLoadResult | undefined;

  beforeAll(async () => {
    fs = await startFaultStack(() => undefined, connectionHoldOverrides(CLIENTS));
    result = await holdConnections(fs.stack, { clients: CLIENTS, holdMs: 10_000, say: () => undefined });
  }, 240_000);

  afterAll(async () => {
    await fs?.close();
  });

  it("connects every client and serves their queries with zero errors", () => {
    expect(result!.connected).toBe(CLIENTS);
    expect(result!.errorKinds).toEqual({});
    expect(result!.queries).toBeGreaterThan(CLIENTS);
  });

  it("keeps PostgreSQL's server connections within PgBouncer's budget", () => {
    expect(result!.peakServerConnections).toBeGreaterThan(0);
    expect(result!.peakServerConnections).toBeLessThanOrEqual(connectionBudget(fs!.stack.config).perReplica);
  });

  it("keeps the probe answering meanwhile", () => {
    expect(result!.probeRequests).toBeGreaterThan(0);
    expect(result!.probeErrors).toBe(0);
  });

  it("holds the clients within what the pgbouncer.memory rule counts for them, and within PgBouncer's and the probe's limits", () => {
    const r = result!;
    const cfg = fs!.stack.config;
    // Measured, not assumed: a PgBouncer that was never sampled would show 0 and pass every bound below.
    expect(r.pgbouncerStartRssMiB).toBeGreaterThan(0);
    // The config rule that sizes pgbouncer.memory (PGBOUNCER_MEMORY, infra/config/checks.ts) counts a
    // base and a share per client, larger over TLS: the real PgBouncer must need no more than it allows,
    // per client and in all, or the rule lets a stack through that Kubernetes would OOM-kill. This also
    // fails a pooler that keeps a thread, a process or an unbounded buffer per client.
    const perClient = pgbouncerClientBytes(cfg.tls);
    const perClientBytes = ((r.pgbouncerPeakRssMiB - r.pgbouncerStartRssMiB) * 2 ** 20) / r.connected;
    expect(perClientBytes, JSON.stringify(r)).toBeLessThan(perClient);
    expect(r.pgbouncerPeakRssMiB * 2 ** 20, JSON.stringify(r)).toBeLessThan(pgbouncerMemoryNeeded({ pgbouncer: { maxClientConn: r.connected }, tls: cfg.tls }));
    // The container limits the stack file sets (pooling:pgbouncer.memory, pooling:probe.memory): what
    // Kubernetes would OOM-kill the process at.
    expect(r.pgbouncerPeakRssMiB * 2 ** 20).toBeLessThan(cfg.pgbouncer.memory);
    expect(r.probePeakRssMiB).toBeGreaterThan(0);
    expect(r.probePeakRssMiB * 2 ** 20).toBeLessThan(cfg.probe.memory);
  });
});
