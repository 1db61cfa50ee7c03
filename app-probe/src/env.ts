/**
 * The probe's environment contract: the one module infra imports from app-probe.
 *
 * It depends on zod alone and has no side effects, so infra can import the names, the defaults and the
 * list of secret-bearing variables without pulling in any client library.
 */
import { z } from "zod";
import { redactUrl } from "./redact.ts";

/** Every variable the probe reads, keyed by the field it becomes in {@link ProbeEnv}. */
export const PROBE_ENV = {
  host: "PROBE_HOST",
  port: "PROBE_PORT",
  databaseUrl: "DATABASE_URL",
  directDatabaseUrl: "DIRECT_DATABASE_URL",
  pgbouncerAdminUrl: "PGBOUNCER_ADMIN_URL",
  redisUrl: "REDIS_URL",
  tlsCaFile: "TLS_CA_FILE",
  tlsCertFile: "TLS_CERT_FILE",
  tlsKeyFile: "TLS_KEY_FILE",
  pgPoolMax: "PG_POOL_MAX",
  pgIdleTimeoutMs: "PG_IDLE_TIMEOUT_MS",
  pgConnectionTimeoutMs: "PG_CONNECTION_TIMEOUT_MS",
  pgPreparedStatements: "PG_PREPARED_STATEMENTS",
  httpMaxSockets: "HTTP_MAX_SOCKETS",
  httpKeepAliveTimeoutMs: "HTTP_KEEPALIVE_TIMEOUT_MS",
  serverKeepAliveTimeoutMs: "SERVER_KEEPALIVE_TIMEOUT_MS",
  upstreamUrl: "UPSTREAM_URL",
  shutdownGraceMs: "SHUTDOWN_GRACE_MS",
  logLevel: "LOG_LEVEL",
  metricsScrapeIntervalMs: "METRICS_SCRAPE_INTERVAL_MS",
} as const;

export type ProbeEnvVar = (typeof PROBE_ENV)[keyof typeof PROBE_ENV];

/** All variable names, in contract order. */
export const PROBE_ENV_VARS: readonly ProbeEnvVar[] = Object.values(PROBE_ENV);

/** Variables that carry a password: infra must source them from a Secret, never a ConfigMap. */
export const PROBE_SECRET_ENV_VARS = [
  PROBE_ENV.databaseUrl,
  PROBE_ENV.directDatabaseUrl,
  PROBE_ENV.pgbouncerAdminUrl,
  PROBE_ENV.redisUrl,
] as const satisfies readonly ProbeEnvVar[];

/** Defaults as the strings an operator would write, so infra can document or render them. */
export const PROBE_ENV_DEFAULTS = {
  PROBE_HOST: "0.0.0.0",
  PROBE_PORT: "8080",
  PG_POOL_MAX: "20",
  PG_IDLE_TIMEOUT_MS: "10000",
  PG_CONNECTION_TIMEOUT_MS: "5000",
  PG_PREPARED_STATEMENTS: "false",
  HTTP_MAX_SOCKETS: "50",
  HTTP_KEEPALIVE_TIMEOUT_MS: "4000",
  SERVER_KEEPALIVE_TIMEOUT_MS: "5000",
  SHUTDOWN_GRACE_MS: "10000",
  LOG_LEVEL: "info",
  METRICS_SCRAPE_INTERVAL_MS: "5000",
} as const satisfies Partial<Record<ProbeEnvVar, string>>;

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

// Kubernetes renders an unset optional value as "", which must mean "use the default", not 0 or false.
const blankToUndefined = (v: unknown): unknown => (typeof v === "string" && v.trim() === "" ? undefined : v);

function int(def: string, min: number, max: number) {
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .default(def)
      .refine((s) => /^\d+$/.test(s.trim()) && Number(s) >= min && Number(s) <= max, {
        message: `must be an integer from ${min} to ${max}`,
      })
      .transform((s) => Number(s)),
  );
}

const BOOLEANS: Record<string, boolean> = { true: true, "1": true, yes: true, false: false, "0": false, no: false };

function bool(def: string) {
  return z.preprocess(
    blankToUndefined,
    z
      .string()
      .default(def)
      .refine((s) => s.trim().toLowerCase() in BOOLEANS, { message: "must be true or false" })
      .transform((s) => BOOLEANS[s.trim().toLowerCase()] ?? false),
  );
}

function url(protocols: readonly string[], what: string) {
  const message = `must be a ${protocols.map((p) => `${p}//`).join(" or ")} URL ${what}`;
  return z
    .string({ error: `is required: ${message}` })
    .refine((s) => URL.canParse(s) && protocols.includes(new URL(s).protocol) && new URL(s).hostname !== "", { message });
}

const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());

const PG = ["postgres:", "postgresql:"];

const schema = z.object({
  PROBE_HOST: z.preprocess(blankToUndefined, z.string().default(PROBE_ENV_DEFAULTS.PROBE_HOST)),
  PROBE_PORT: int(PROBE_ENV_DEFAULTS.PROBE_PORT, 0, 65535),
  DATABASE_URL: url(PG, "to PgBouncer (app user)"),
  DIRECT_DATABASE_URL: optional(url(PG, "straight to PostgreSQL")),
  PGBOUNCER_ADMIN_URL: optional(url(PG, "to PgBouncer's admin database `pgbouncer`")),
  REDIS_URL: url(["redis:", "rediss:"], "(redis://default:password@host:port)"),
  TLS_CA_FILE: optional(z.string()),
  TLS_CERT_FILE: optional(z.string()),
  TLS_KEY_FILE: optional(z.string()),
  PG_POOL_MAX: int(PROBE_ENV_DEFAULTS.PG_POOL_MAX, 1, 10_000),
  PG_IDLE_TIMEOUT_MS: int(PROBE_ENV_DEFAULTS.PG_IDLE_TIMEOUT_MS, 0, 86_400_000),
  PG_CONNECTION_TIMEOUT_MS: int(PROBE_ENV_DEFAULTS.PG_CONNECTION_TIMEOUT_MS, 1, 600_000),
  PG_PREPARED_STATEMENTS: bool(PROBE_ENV_DEFAULTS.PG_PREPARED_STATEMENTS),
  HTTP_MAX_SOCKETS: int(PROBE_ENV_DEFAULTS.HTTP_MAX_SOCKETS, 1, 100_000),
  HTTP_KEEPALIVE_TIMEOUT_MS: int(PROBE_ENV_DEFAULTS.HTTP_KEEPALIVE_TIMEOUT_MS, 1, 600_000),
  SERVER_KEEPALIVE_TIMEOUT_MS: int(PROBE_ENV_DEFAULTS.SERVER_KEEPALIVE_TIMEOUT_MS, 1, 600_000),
  UPSTREAM_URL: optional(url(["http:", "https:"], "for the upstream call")),
  SHUTDOWN_GRACE_MS: int(PROBE_ENV_DEFAULTS.SHUTDOWN_GRACE_MS, 0, 600_000),
  LOG_LEVEL: z.preprocess(
    blankToUndefined,
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default(PROBE_ENV_DEFAULTS.LOG_LEVEL),
  ),
  METRICS_SCRAPE_INTERVAL_MS: int(PROBE_ENV_DEFAULTS.METRICS_SCRAPE_INTERVAL_MS, 100, 3_600_000),
});

/**
 * Checks across variables. Kept out of the schema so they run (on the values that did parse) even when
 * other variables are bad: the operator sees every problem in one go.
 */
function crossFieldIssues(env: NodeJS.ProcessEnv): ProbeEnvIssue[] {
  const num = (name: keyof typeof PROBE_ENV_DEFAULTS): number | undefined => {
    const parsed = schema.shape[name].safeParse(env[name]);
    return parsed.success && typeof parsed.data === "number" ? parsed.data : undefined;
  };
  const issues: ProbeEnvIssue[] = [];
  const client = num("HTTP_KEEPALIVE_TIMEOUT_MS");
  const server = num("SERVER_KEEPALIVE_TIMEOUT_MS");
  // The client must give up an idle socket before the server closes it, or a request can be written onto
  // a socket the server is closing at that moment (ECONNRESET). The probe is its own default upstream, so
  // its server's timeout must outlast its agent's.
  if (client !== undefined && server !== undefined && server <= client) {
    issues.push({
      variable: PROBE_ENV.serverKeepAliveTimeoutMs,
      message: `must be greater than HTTP_KEEPALIVE_TIMEOUT_MS (${client}); raise it or lower HTTP_KEEPALIVE_TIMEOUT_MS (SERVER_KEEPALIVE_TIMEOUT_MS is ${server})`,
    });
  }
  const given = (name: string) => (env[name] ?? "").trim() !== "";
  if (given(PROBE_ENV.tlsCertFile) !== given(PROBE_ENV.tlsKeyFile)) {
    issues.push({ variable: given(PROBE_ENV.tlsCertFile) ? PROBE_ENV.tlsKeyFile : PROBE_ENV.tlsCertFile, message: "TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither" });
  }
  if (given(PROBE_ENV.tlsCertFile) && !given(PROBE_ENV.tlsCaFile)) {
    issues.push({ variable: PROBE_ENV.tlsCaFile, message: "is required with TLS_CERT_FILE: the probe shows its certificate only on connections it verifies" });
  }
  return issues;
}

/** The validated environment, with defaults applied. */
export interface ProbeEnv {
  host: string;
  /** 0 asks the OS for a free port. */
  port: number;
  databaseUrl: string;
  directDatabaseUrl: string | undefined;
  pgbouncerAdminUrl: string | undefined;
  redisUrl: string;
  /** The CA every server is verified with; undefined: plaintext, or TLS as the URLs' own parameters say. */
  tlsCaFile: string | undefined;
  /** The probe's own certificate and key, for servers that ask for one. */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  pgPoolMax: number;
  pgIdleTimeoutMs: number;
  pgConnectionTimeoutMs: number;
  /** false: only unnamed statements, which transaction-mode PgBouncer below 1.21 requires. */
  pgPreparedStatements: boolean;
  httpMaxSockets: number;
  httpKeepAliveTimeoutMs: number;
  serverKeepAliveTimeoutMs: number;
  /** undefined: the probe's own /upstream on the port it actually listens on. */
  upstreamUrl: string | undefined;
  shutdownGraceMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  metricsScrapeIntervalMs: number;
}

export interface ProbeEnvIssue {
  variable: string;
  message: string;
}

/** Thrown by {@link loadProbeEnv}; lists every bad variable, never a password. */
export class ProbeEnvError extends Error {
  readonly code = "PROBE_ENV_INVALID";
  constructor(readonly issues: readonly ProbeEnvIssue[]) {
    super(`Invalid probe environment:\n${issues.map((i) => `  - ${i.variable}: ${i.message}`).join("\n")}`);
    this.name = "ProbeEnvError";
  }
}

const SECRET_VARS: ReadonlySet<string> = new Set(PROBE_SECRET_ENV_VARS);

/** How a bad value is echoed back: URLs with their password masked, other values as they are. */
function shown(variable: string, raw: string | undefined): string {
  if (raw === undefined || raw.trim() === "") return "";
  if (SECRET_VARS.has(variable)) return URL.canParse(raw) ? ` (got ${redactUrl(raw)})` : " (got a value that is not a URL)";
  return ` (got ${JSON.stringify(raw)})`;
}

/** Parse and validate the probe's environment. Throws {@link ProbeEnvError} listing every problem. */
export function loadProbeEnv(env: NodeJS.ProcessEnv): ProbeEnv {
  const raw = Object.fromEntries(PROBE_ENV_VARS.map((name) => [name, env[name]]));
  const parsed = schema.safeParse(raw);
  const issues: ProbeEnvIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? "environment");
        return { variable, message: `${issue.message}${shown(variable, env[variable])}` };
      });
  issues.push(...crossFieldIssues(env));
  if (!parsed.success || issues.length > 0) throw new ProbeEnvError(issues);
  const e = parsed.data;
  return {
    host: e.PROBE_HOST,
    port: e.PROBE_PORT,
    databaseUrl: e.DATABASE_URL,
    directDatabaseUrl: e.DIRECT_DATABASE_URL,
    pgbouncerAdminUrl: e.PGBOUNCER_ADMIN_URL,
    redisUrl: e.REDIS_URL,
    tlsCaFile: e.TLS_CA_FILE,
    tlsCertFile: e.TLS_CERT_FILE,
    tlsKeyFile: e.TLS_KEY_FILE,
    pgPoolMax: e.PG_POOL_MAX,
    pgIdleTimeoutMs: e.PG_IDLE_TIMEOUT_MS,
    pgConnectionTimeoutMs: e.PG_CONNECTION_TIMEOUT_MS,
    pgPreparedStatements: e.PG_PREPARED_STATEMENTS,
    httpMaxSockets: e.HTTP_MAX_SOCKETS,
    httpKeepAliveTimeoutMs: e.HTTP_KEEPALIVE_TIMEOUT_MS,
    serverKeepAliveTimeoutMs: e.SERVER_KEEPALIVE_TIMEOUT_MS,
    upstreamUrl: e.UPSTREAM_URL,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    logLevel: e.LOG_LEVEL,
    metricsScrapeIntervalMs: e.METRICS_SCRAPE_INTERVAL_MS,
  };
}
