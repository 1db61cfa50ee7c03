/**
 * pgbouncer_exporter's side of PgBouncer over TLS, as far as it can be run here. The exporter itself is not
 * built (the module proxy refuses its module), so pq-console stands in for its database side: lib/pq at the
 * version the exporter links, opening the connection string the Kubernetes manifest renders (the same
 * function, pointed at the local stack's port and files), running the statements the exporter's collector
 * runs, through database/sql as it does. Against the local stack's real PgBouncer with TLS on.
 */
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { exporterConnectionString, type ExporterTarget } from "../../infra/k8s/manifests/pgbouncer.ts";
import { createCaPem } from "../../lib/pki.ts";
import type { LocalStack } from "../../local/stack.ts";
import { isBuilt } from "../../toolchain/build.ts";
import { toolchainPaths } from "../../toolchain/paths.ts";
import { LIB_PQ_MODULE, LIB_PQ_OF_EXPORTER, pqConsole } from "../../toolchain/recipes/standins.ts";
import { EXPORTERS } from "../../toolchain/versions.ts";
import { useStack } from "../integration/fixture.ts";
import { skipReason } from "../skip.ts";

const FILE = "test/tls/pgbouncer-exporter-driver.test.ts";
const recipe = pqConsole(EXPORTERS.pgbouncerExporter);
const BIN = join(toolchainPaths().bin, "pq-console");
const missing = skipReason(FILE, isBuilt(toolchainPaths(), recipe) ? undefined : `pq-console ${recipe.version} is not built: run \`npm run toolchain\``);
const notRoot = missing ?? skipReason(`${FILE} (the kubelet's key mode)`, process.getuid?.() === 0 ? undefined : "a root-owned key file can only be made as root");

/**
 * What the exporter sends, in order, at v0.10.2 (collector.go): getDB's check `SHOW STATS` once at start,
 * then each scrape `SHOW VERSION;`, `SHOW LISTS;`, `SHOW CONFIG;` and `SHOW %s;` for each key of
 * metricMaps (databases, stats, pools; Go map order, so any order). Each is a `db.Query` without arguments.
 */
const COLLECTOR_STATEMENTS = ["SHOW STATS", "SHOW VERSION;", "SHOW LISTS;", "SHOW CONFIG;", "SHOW databases;", "SHOW stats;", "SHOW pools;"];

/** The columns metricMaps reads from each namespace at v0.10.2 (collector.go); a missing one is no metric. */
const MAPPED_COLUMNS: Record<string, readonly string[]> = {
  "SHOW databases;": ["name", "host", "port", "database", "force_user", "pool_size", "reserve_pool", "pool_mode", "max_connections", "current_connections", "paused", "disabled"],
  "SHOW stats;": ["database", "total_query_count", "total_query_time", "total_received", "total_requests", "total_sent", "total_wait_time", "total_xact_count", "total_xact_time"],
  "SHOW pools;": ["database", "user", "cl_active", "cl_active_cancel_req", "cl_waiting", "cl_waiting_cancel_req", "sv_active", "sv_active_cancel", "sv_being_canceled", "sv_idle", "sv_used", "sv_tested", "sv_login", "maxwait"],
};

interface StatementResult {
  query: string;
  ok: boolean;
  columns?: string[];
  rows?: Array<Array<string | null>>;
  error?: string;
  sqlstate?: string;
}

interface ConsoleReport {
  driver: string;
  results: StatementResult[];
}

/** pq-console's report for these statements over `connectionString`. */
async function pqConsoleRun(connectionString: string, statements: readonly string[]): Promise<ConsoleReport> {
  const { stdout } = await promisify(execFile)(BIN, [...statements], { env: { PQ_CONSOLE_CONNECTION_STRING: connectionString }, timeout: 30_000 });
  return JSON.parse(stdout) as ConsoleReport;
}

const statsPassword = (s: LocalStack) => decodeURIComponent(new URL(s.pgbouncer.statsUrl).password);

/**
 * The local stack in place of the pod: its PgBouncer port, its CA and client pair where the manifest names
 * the pod's TLS mount. Without client certificates the stack has no client pair, and the string names none.
 */
function localTarget(s: LocalStack, files: Partial<ExporterTarget["files"]> = {}): ExporterTarget {
  const pair = s.tls.clientFiles ?? { cert: "", key: "" };
  return { port: s.pgbouncer.port, files: { ca: s.tls.caFile, ...pair, ...files } };
}

/** The exporter's connection string for this stack, as the manifest renders it. */
const exporterUrl = (s: LocalStack, files: Partial<ExporterTarget["files"]> = {}) => exporterConnectionString(s.config, statsPassword(s), localTarget(s, files));

function failures(report: ConsoleReport): StatementResult[] {
  return report.results.filter((r) => !r.ok);
}

const byQuery = (report: ConsoleReport, query: string) => report.results.find((r) => r.query === query)!;

/** A CA that signed nothing of the stack's, written into its data folder. */
async function otherCaFile(s: LocalStack): Promise<string> {
  const file = join(s.dataDir, "other-ca.crt");
  writeFileSync(file, (await createCaPem({ subject: [{ CN: ["another CA"] }], lifetimeMs: 86_400_000 })).cert);
  return file;
}

describe.skipIf(missing)("pgbouncer_exporter's driver against PgBouncer with TLS on", () => {
  const stack = useStack();

  it("is lib/pq at the version the deployed exporter links", async () => {
    const report = await pqConsoleRun(exporterUrl(stack()), ["SHOW VERSION;"]);
    expect(report.driver).toBe(`${LIB_PQ_MODULE} ${LIB_PQ_OF_EXPORTER[EXPORTERS.pgbouncerExporter]}`);
  });

  it("opens the manifest's connection string with verify-full and runs every collector statement as the stats user", async () => {
    const s = stack();
    const url = exporterUrl(s);
    expect(url).toMatch(/\?sslmode=verify-full&sslrootcert=[^&]+$/);
    const report = await pqConsoleRun(url, COLLECTOR_STATEMENTS);
    expect(failures(report)).toEqual([]);
    // What collector.go requires of the answers, or it fails the scrape (pgbouncer_up 0).
    expect(byQuery(report, "SHOW VERSION;").columns).toEqual(["version"]);
    expect(byQuery(report, "SHOW LISTS;").columns).toHaveLength(2);
    for (const [, items] of byQuery(report, "SHOW LISTS;").rows!) expect(Number.isFinite(Number(items))).toBe(true);
    expect([3, 4]).toContain(byQuery(report, "SHOW CONFIG;").columns!.length);
    const unanswered = Object.fromEntries(Object.entries(MAPPED_COLUMNS).map(([query, columns]) => [query, columns.filter((c) => !byQuery(report, query).columns!.includes(c))]));
    // total_requests is for PgBouncer before 1.8, which replaced it with total_query_count (NEWS.md, 1.8:
    // "The fields `total_requests`, `avg_req`, and `avg_query` have been replaced by new fields").
    expect(unanswered).toEqual({ "SHOW databases;": [], "SHOW stats;": ["total_requests"], "SHOW pools;": [] });
  });

  it("is a TLS session in PgBouncer's own SHOW CLIENTS", async () => {
    const s = stack();
    const report = await pqConsoleRun(exporterUrl(s), ["SHOW CLIENTS;"]);
    const clients = byQuery(report, "SHOW CLIENTS;");
    expect(clients.ok).toBe(true);
    const col = (name: string) => clients.columns!.indexOf(name);
    const mine = clients.rows!.filter((r) => r[col("user")] === s.config.pgbouncer.statsUser);
    expect(mine.length).toBeGreaterThan(0);
    for (const row of mine) expect(row[col("tls")]).toMatch(/^TLSv1\.[23]\//);
  });

  it("is refused when it trusts a CA that did not sign PgBouncer's leaf", async () => {
    const s = stack();
    const report = await pqConsoleRun(exporterUrl(s, { ca: await otherCaFile(s) }), ["SHOW STATS"]);
    expect(report.results[0]).toMatchObject({ ok: false, error: expect.stringMatching(/x509: certificate signed by unknown authority/) as unknown });
  });

  it("is refused with the string rendered for TLS off (sslmode=disable)", async () => {
    const s = stack();
    const plain = exporterConnectionString({ ...s.config, tls: { ...s.config.tls, enabled: false } }, statsPassword(s), localTarget(s));
    expect(plain).toMatch(/\?sslmode=disable$/);
    const report = await pqConsoleRun(plain, ["SHOW STATS"]);
    expect(report.results[0]).toMatchObject({ ok: false, error: expect.stringMatching(/SSL required/) as unknown });
  });
});

describe.skipIf(missing)("pgbouncer_exporter's driver against PgBouncer with client certificates required", () => {
  const stack = useStack({ overrides: { tls: { clientCertificates: true } } });

  it("shows the client pair the manifest names and runs every collector statement", async () => {
    const s = stack();
    const url = exporterUrl(s);
    expect(url).toMatch(/&sslcert=[^&]+&sslkey=[^&]+$/);
    expect(failures(await pqConsoleRun(url, COLLECTOR_STATEMENTS))).toEqual([]);
  });

  it("is refused without the client pair: the string rendered without client certificates", async () => {
    const s = stack();
    const noPair = exporterConnectionString({ ...s.config, tls: { ...s.config.tls, clientCertificates: false } }, statsPassword(s), localTarget(s));
    expect(noPair).not.toMatch(/sslcert/);
    const report = await pqConsoleRun(noPair, ["SHOW STATS"]);
    // With TLS 1.3 the client's handshake ends before the server has judged its (missing) certificate:
    // the server's certificate_required alert (RFC 8446 §4.4.2.4) then either reaches the driver's next
    // read ("tls: certificate required") or the server's close lands first and the driver's next write
    // meets a reset (seen under load). Either way no statement ran.
    expect(report.results[0]).toMatchObject({ ok: false, error: expect.stringMatching(/tls: certificate required|write: connection reset by peer|write: broken pipe/) as unknown });
  });

  it.skipIf(notRoot)("takes the client key as the kubelet mounts it (root-owned, mode 0440), and refuses one others can read", async () => {
    const s = stack();
    const key = (mode: number) => {
      const file = join(s.dataDir, `client-${mode.toString(8)}.key`);
      copyFileSync(s.tls.clientFiles!.key, file);
      chmodSync(file, mode);
      return file;
    };
    expect(failures(await pqConsoleRun(exporterUrl(s, { key: key(0o440) }), ["SHOW STATS"]))).toEqual([]);
    const report = await pqConsoleRun(exporterUrl(s, { key: key(0o644) }), ["SHOW STATS"]);
    expect(report.results[0]).toMatchObject({ ok: false, error: expect.stringMatching(/Private key has world access/) as unknown });
  });
});
