import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../../local/stack.ts";
import { parseStackConfig } from "../../infra/config/index.ts";
import { AlertWatch } from "./alerts.ts";
import { faultAlertsCell, faultTable, reliabilityReport, tlsLine, type FaultRun } from "./report.ts";
import { alertsWrong, errorWindowMs, sortAlerts } from "./run.ts";

const read = (f: string) => readFileSync(join(PROJECT_DIR, f), "utf8");

describe("the committed fault run", () => {
  it("docs/reliability.md is the report of docs/reliability.json (write both with one npm run test:faults)", () => {
    expect(read("docs/reliability.md")).toBe(reliabilityReport(JSON.parse(read("docs/reliability.json")) as FaultRun));
  });
});

describe("the committed fault run, with TLS", () => {
  const run = JSON.parse(read("docs/reliability.json")) as FaultRun;

  it("ran with TLS on every connection", () => {
    expect(run.tls).toMatchObject({ enabled: true });
  });

  it("rotated every leaf under load without a failed request, a lost write or a restart, PgBouncer's new server sessions on TLS", () => {
    const r = run.faults.find((f) => f.fault === "Certificate rotation under load");
    expect(r, "no certificate rotation row").toBeDefined();
    expect({ errors: r!.errors, lost: r!.writesLost, leaked: r!.connectionsLeaked }).toEqual({ errors: 0, lost: 0, leaked: 0 });
    expect(r!.requests).toBeGreaterThan(0);
    expect(r!.rotation!.to).toBe(r!.rotation!.from + 1);
    expect(r!.rotation!.restarted).toEqual([]);
    expect(r!.rotation!.onTls).toBe(r!.rotation!.serverConnections);
    expect(r!.alerts?.unexpected).toEqual([]);
  });
});

describe("the report's TLS line", () => {
  it("says TLS is on and that clients verify, or that it is off", () => {
    expect(tlsLine({ enabled: true, minVersion: "TLSv1.3", clientCertificates: true })).toBe(
      "TLS on every connection (`pooling:tls`, TLSv1.3 at least, clients showing certificates too): every client verifies its server against the stack's CA (verify-full).",
    );
    expect(tlsLine({ enabled: false, minVersion: "TLSv1.2", clientCertificates: false })).toMatch(/^TLS off/);
  });
});

describe("errorWindowMs", () => {
  it("spans the failures' send times even when they completed out of order", () => {
    expect(errorWindowMs([{ at: 1005 }, { at: 1000 }, { at: 1003 }])).toBe(5);
  });

  it("is 0 without failures", () => {
    expect(errorWindowMs([])).toBe(0);
  });
});

/** A watch fed with polls by hand: at each time, the alerts firing and the alerts active (pending or firing). */
function watchOf(polls: Array<[number, string[], string[]]>): AlertWatch {
  const w = new AlertWatch("http://127.0.0.1:9");
  for (const [at, firing, pending] of polls) w.polls.push({ at, firing: new Set(firing), active: new Set([...firing, ...pending]) });
  return w;
}

const cfg = parseStackConfig({}, { stack: "test" });
const spec = (expect: string[], allow: string[] = []) => ({ expect, allow, quiet: () => "shorter than for: 3s" });

describe("the alerts a fault raised, sorted", () => {
  // Fault from 1000 to 2000 (undone), polls until 6000.
  const w = watchOf([
    [900, [], []],
    [1500, [], ["ProbeNotReady", "PostgresDown"]],
    [3000, ["PostgresDown", "RedisDown"], ["ProbeNotReady"]],
    [4000, ["PostgresDown"], []],
    [5000, ["RedisDown"], []],
    [6000, [], []],
  ]);

  it("times each alert that fired from the fault's start, and its clearing from the undoing", () => {
    const r = sortAlerts(w, spec(["PostgresDown"], ["RedisDown"]), cfg, 1000, 2000, 6000);
    expect(r.fired).toEqual([
      { alert: "PostgresDown", fireMs: 2000, clearMs: 3000 },
      { alert: "RedisDown", fireMs: 2000, clearMs: 4000 },
    ]);
    expect(r.pendingOnly).toEqual(["ProbeNotReady"]);
    expect(r.missing).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(alertsWrong(r)).toBe(false);
  });

  it("calls an alert outside the expected and allowed sets unexpected, and an expected one that did not fire missing", () => {
    const r = sortAlerts(w, spec(["ProbeNotReady"]), cfg, 1000, 2000, 6000);
    expect(r.unexpected).toEqual(["PostgresDown", "RedisDown"]);
    expect(r.missing).toEqual(["ProbeNotReady"]);
    expect(alertsWrong(r)).toBe(true);
  });

  it("leaves the clearing time out for an alert still firing at the last poll, which fails the row", () => {
    const r = sortAlerts(w, spec([], ["PostgresDown", "RedisDown"]), cfg, 1000, 2000, 5000);
    expect(r.fired.find((f) => f.alert === "RedisDown")?.clearMs).toBeUndefined();
    expect(alertsWrong(r)).toBe(true);
  });

  it("sees nothing of alerts that fired before the fault's start", () => {
    const r = sortAlerts(w, spec([]), cfg, 5500, 5600, 6000);
    expect(r.fired).toEqual([]);
    expect(faultAlertsCell(r)).toBe("none (shorter than for: 3s)");
  });
});

describe("the alerts column", () => {
  it("marks allowed alerts, and puts a false alarm, a missing alert and one that did not clear in bold", () => {
    const cell = faultAlertsCell({
      expected: ["PostgresDown"],
      allowed: ["ProbeNotReady"],
      quiet: "unused",
      fired: [
        { alert: "ProbeNotReady", fireMs: 4200, clearMs: 1800 },
        { alert: "RedisDown", fireMs: 5000, clearMs: undefined },
      ],
      missing: ["PostgresDown"],
      unexpected: ["RedisDown"],
      pendingOnly: ["TargetDown"],
    });
    expect(cell.split("<br>")).toEqual([
      "ProbeNotReady: fired 4.2 s, cleared 1.8 s (may fire)",
      "RedisDown: fired 5.0 s, **did not clear** **not expected**",
      "**PostgresDown did not fire**",
      "pending, not fired: TargetDown",
    ]);
  });

  it("is a column of the fault table only when Prometheus watched the run", () => {
    const { faults } = JSON.parse(read("docs/reliability.json")) as FaultRun;
    const unwatched = faults.map(({ alerts: _, ...r }) => r);
    const watched = unwatched.map((r) => ({ ...r, alerts: sortAlerts(watchOf([[0, [], []]]), spec([]), cfg, 0, 0, 0) }));
    expect(faultTable(unwatched).split("\n")[0]).not.toMatch(/alerts/);
    expect(faultTable(watched).split("\n")[0]).toMatch(/\| alerts \(time to fire[^|]*\|$/);
    expect(faultTable(watched).split("\n")[2]).toMatch(/\| none \(shorter than for: 3s\) \|$/);
  });
});
