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

  it("keeps the probe answering meanwhile, and reports the memory figures", () => {
    expect(result!.probeRequests).toBeGreaterThan(0);
    expect(result!.probeErrors).toBe(0);
    expect(result!.pgbouncerPeakRssMiB).toBeGreaterThan(0);
    expect(result!.probePeakRssMiB).toBeGreaterThan(0);
  });
});
