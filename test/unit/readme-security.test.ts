import { describe, expect, it } from "vitest";
import { securitySummary } from "../../infra/cli/readme-security.ts";

const side = (connectMs: number | null, postgres: number, pgbouncer: number, load: number, tps: number) => ({
  tps,
  p99Ms: 10,
  connectMs,
  cpuUs: { postgres, pgbouncer, load },
  serversUs: postgres + pgbouncer,
  pathUs: postgres + pgbouncer + load,
});

const bench = (met: boolean | null) =>
  JSON.stringify({
    machine: { startedAt: "2026-12-07T00:00:00.000Z" },
    tlsComparison: {
      level: 1000,
      rounds: 2,
      minVersion: "TLSv1.2",
      summary: [
        { scenario: "before-serial", clients: 1, on: side(4, 900, 0, 700, 200), off: side(2.5, 600, 0, 350, 300), ratio: { postgres: 1.5, pgbouncer: null, path: 1.68, tps: 0.667 } },
        { scenario: "stack", clients: 1000, on: side(null, 33, 12, 66, 9000), off: side(null, 30, 10, 60, 10_000), ratio: { postgres: 1.1, pgbouncer: 1.2, path: 1.11, tps: 0.9 } },
      ],
    },
    targets: [{ target: "At 1,000 clients: the stack's pooled path with TLS within 15% of its plaintext cost per transaction", met }],
  });

const faults = JSON.stringify({
  startedAt: "2026-12-07T01:00:00.000Z",
  concurrency: 16,
  faults: [
    { fault: "Redis restarted", requests: 900, errors: 20, acknowledgedWrites: 880, writesLost: 0 },
    { fault: "Certificate rotation under load", requests: 1162, errors: 0, acknowledgedWrites: 1162, writesLost: 0, rotation: { from: 1, to: 2, restarted: [], serverConnections: 9, onTls: 9 } },
  ],
});

describe("the README's TLS figures", () => {
  it("show the handshake's cost on a new connection and the pooled path's cost per transaction, TLS against plaintext", () => {
    const text = securitySummary(bench(true), faults);
    expect(text).toContain("| a new connection (1 client): time to connect, p50 | 4.0 ms | 2.5 ms | +1.5 ms |");
    expect(text).toContain("| pooled, 1,000 clients: PostgreSQL CPU per transaction | 33 µs | 30 µs | 1.10× |");
    expect(text).toContain("| pooled, 1,000 clients: PgBouncer CPU per transaction | 12 µs | 10 µs | 1.20× |");
    expect(text).toContain("| pooled, 1,000 clients: whole path (PostgreSQL + PgBouncer + clients) | 111 µs | 100 µs | +11.0% (within 15%) |");
  });

  it("mark a pooled path past the issue's 15% in bold", () => {
    expect(securitySummary(bench(false), faults)).toContain("+11.0% (**past 15%**)");
  });

  it("give the rotation row of the fault run", () => {
    expect(securitySummary(bench(true), faults)).toMatch(
      /generation 1 → 2\) while 16 `\/probe` loops ran: 1,162 requests, 0 failed, 0 of 1,162 acknowledged writes lost, no server restarted; PgBouncer's 9 server connections then re-made, 9 of them on TLS\.$/,
    );
  });

  it("say what is not measured rather than show nothing", () => {
    const text = securitySummary(JSON.stringify({ machine: { startedAt: "x" }, targets: [] }), JSON.stringify({ startedAt: "y", concurrency: 16, faults: [] }));
    expect(text).toContain("What TLS costs: not measured in the committed bench run");
    expect(text).toContain("Certificate rotation under load: not in the committed fault run.");
  });
});
