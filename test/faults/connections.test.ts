import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionBudget } from "../../infra/config/index.ts";
import { holdConnections, type ConnectionLoadResult } from "./connections.ts";
import { startFaultStack, type FaultStack } from "./stack.ts";

// The short form of the 10,000-connection run in `npm run test:faults -- --connections 10000`.
const CLIENTS = 2000;

describe(`${CLIENTS} client connections held through PgBouncer under load`, () => {
  let fs: FaultStack | undefined;
  let result: ConnectionLoadResult | undefined;

  beforeAll(async () => {
    fs = await startFaultStack(() => undefined, { pgbouncer: { maxClientConn: CLIENTS + 200 } });
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

  it("holds the clients in a few KiB each, within PgBouncer's and the probe's memory limits", () => {
    const r = result!;
    const cfg = fs!.stack.config;
    // Measured, not assumed: a PgBouncer that was never sampled would show 0 and pass every bound below.
    expect(r.pgbouncerStartRssMiB).toBeGreaterThan(0);
    // PgBouncer's own figure is "2 kB per connection by default" (pgbouncer.org/features.html), its packet
    // buffer pkt_buf 4096 bytes (pgbouncer.org/config.html): 16 KiB per plaintext client allows four
    // buffers. Over TLS (pooling:tls.enabled) each client also has OpenSSL's record buffers, up to
    // SSL3_RT_MAX_PACKET_SIZE (16 KiB of plaintext plus overhead) each way (openssl ssl3.h): 64 KiB.
    // Either bound fails a pooler that keeps a thread, a process or an unbounded buffer per client.
    const boundKiB = cfg.tls.enabled ? 64 : 16;
    const perClientKiB = ((r.pgbouncerPeakRssMiB - r.pgbouncerStartRssMiB) * 1024) / r.connected;
    expect(perClientKiB, JSON.stringify(r)).toBeLessThan(boundKiB);
    // The container limits the stack file sets (pooling:pgbouncer.memory, pooling:probe.memory): what
    // Kubernetes would OOM-kill the process at.
    expect(r.pgbouncerPeakRssMiB * 2 ** 20).toBeLessThan(cfg.pgbouncer.memory);
    expect(r.probePeakRssMiB).toBeGreaterThan(0);
    expect(r.probePeakRssMiB * 2 ** 20).toBeLessThan(cfg.probe.memory);
  });
});
