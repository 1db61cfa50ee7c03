import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { checkStackConfig, ConfigError, formatDuration, parseStackConfig, type StackConfig } from "../../infra/config/index.ts";
import { POOL_MODES, REDIS_EVICTION_POLICIES, SECTIONS } from "../../infra/config/schema.ts";
import { derivedDefaultPoolSize, derivedMinPoolSize, derivedReservePoolSize, MIN_DERIVED_POOL_SIZE, SERVER_CONNECTIONS_PER_CPU } from "../../infra/config/pools.ts";
import { renderPgbouncerIni, renderPgHbaConf, renderPostgresqlConf, renderRedisConf, renderUserlist, type Runtime, type StackSecrets } from "../../infra/render/index.ts";

const salt = (byte: number) => Buffer.alloc(16, byte).toString("base64");
const SECRETS: StackSecrets = {
  superuser: { password: "test-superuser-password", salt: salt(1) },
  app: { password: "test-app-password", salt: salt(2) },
  pgbouncerAdmin: { password: "test-admin-password", salt: salt(3) },
  pgbouncerStats: { password: "test-stats-password", salt: salt(4) },
  redisPassword: "test-redis-password",
};
const TLS_FILES = { ca: "/tls/ca.crt", cert: "/tls/tls.crt", key: "/tls/tls.key" };
const RUNTIME: Runtime = {
  postgres: { listenAddresses: "*", port: 5432, unixSocketDir: "/run/postgresql", hbaFile: "/etc/postgresql/pg_hba.conf", hbaNetworks: ["10.0.0.0/8"], tls: TLS_FILES },
  pgbouncer: { listenAddr: "0.0.0.0", serverHost: "postgres", serverPort: 5432, authFile: "/etc/pgbouncer/userlist.txt", hbaFile: "/etc/pgbouncer/pgbouncer_hba.conf", clientNetworks: ["10.0.0.0/8"], unixSocketDir: "", tls: { ...TLS_FILES, clientCert: "/tls/client.crt", clientKey: "/tls/client.key" } },
  redis: { bind: "0.0.0.0", dir: "/data", authFile: "/etc/redis/auth.conf", tls: TLS_FILES },
};
const OPTS = { stack: "prop" };
const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

// ---------------------------------------------------------------------------------------------------
// Tiny readers for the rendered files, written independently of the renderers.

type Ini = Map<string, Map<string, string>>;

/** `[section]` headers and `key = value` lines; `;` and `#` start comments. Anything else is a failure. */
function parseIni(text: string): Ini {
  const sections: Ini = new Map([["", new Map()]]);
  let current = sections.get("")!;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    const header = /^\[([a-z]+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const kv = /^([a-z0-9_]+) = (.*)$/.exec(line);
    if (!kv) throw new Error(`not an ini line: ${JSON.stringify(line)}`);
    if (current.has(kv[1]!)) throw new Error(`duplicate key ${kv[1]}`);
    current.set(kv[1]!, kv[2]!);
  }
  return sections;
}

/** `key value` lines (Redis); `include` may repeat and is returned apart. */
function parseRedisConf(text: string): { settings: Map<string, string>; includes: string[] } {
  const settings = new Map<string, string>();
  const includes: string[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const kv = /^([a-z-]+) (.+)$/.exec(line);
    if (!kv) throw new Error(`not a redis.conf line: ${JSON.stringify(line)}`);
    if (kv[1] === "include") includes.push(kv[2]!);
    else if (settings.has(kv[1]!)) throw new Error(`duplicate key ${kv[1]}`);
    else settings.set(kv[1]!, kv[2]!);
  }
  return { settings, includes };
}

function unquotePg(v: string): string {
  const m = /^'([^'\n]*)'$/.exec(v);
  return m ? m[1]! : v;
}

const PG_TIME_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
function pgMs(v: string): number {
  const t = unquotePg(v);
  if (t === "0") return 0;
  const m = /^(\d+)(ms|s|min|h|d)$/.exec(t);
  if (!m) throw new Error(`not a PostgreSQL duration: ${v}`);
  return Number(m[1]) * PG_TIME_MS[m[2]!]!;
}

const PG_SIZE_BYTES: Record<string, number> = { kB: KiB, MB: MiB, GB: GiB };
function pgBytes(v: string): number {
  const m = /^(\d+)(kB|MB|GB)$/.exec(unquotePg(v));
  if (!m) throw new Error(`not a PostgreSQL size: ${v}`);
  return Number(m[1]) * PG_SIZE_BYTES[m[2]!]!;
}

/** PgBouncer reads seconds, fractions allowed; no exponent notation. */
function pgbouncerMs(v: string): number {
  if (!/^\d+(\.\d{1,3})?$/.test(v)) throw new Error(`not PgBouncer seconds: ${v}`);
  return Math.round(Number(v) * 1000);
}

function int(v: string | undefined): number {
  if (v === undefined || !/^\d+$/.test(v)) throw new Error(`not an integer: ${v}`);
  return Number(v);
}

// ---------------------------------------------------------------------------------------------------
// Generators: raw stack config as a person would write it (strings with units), near the valid region
// so that many are accepted and many are refused by one rule or another.

const durationText = (minMs: number, maxMs: number) =>
  fc.tuple(fc.integer({ min: minMs, max: maxMs }), fc.constantFrom("exact", "ms", "s")).map(([ms, style]) => {
    if (style === "ms") return `${ms}ms`;
    if (style === "s" && ms % 100 === 0) return `${ms / 1000}s`;
    return formatDuration(ms);
  });
const secondsText = (min: number, max: number) => durationText(min * 1000, max * 1000);
const sizeText = (units: ReadonlyArray<"kB" | "MB" | "Mi" | "GB" | "Gi">, min: number, max: number) =>
  fc.tuple(fc.integer({ min, max }), fc.constantFrom(...units)).map(([n, unit]) => `${n}${unit}`);
const identifier = fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/);
/** A Kubernetes CPU quantity in each form the schema takes, and its millicores. */
const cpuText = fc.oneof(
  fc.integer({ min: 1, max: 64 }).map((n) => ({ text: String(n), milli: n * 1000 })),
  fc.integer({ min: 1, max: 16_000 }).map((m) => ({ text: `${m}m`, milli: m })),
  fc.integer({ min: 1, max: 160 }).map((tenths) => ({ text: (tenths / 10).toFixed(1), milli: tenths * 100 })),
);

const postgresModel = {
  cpu: cpuText.map((c) => c.text),
  maxConnections: fc.integer({ min: 10, max: 2000 }),
  superuserReservedConnections: fc.integer({ min: 0, max: 10 }),
  headroomConnections: fc.integer({ min: 0, max: 50 }),
  memory: sizeText(["Gi", "GB"], 1, 16),
  sharedBuffers: sizeText(["MB", "Mi"], 16, 2048),
  effectiveCacheSize: sizeText(["MB", "Mi"], 64, 8192),
  maintenanceWorkMem: sizeText(["MB", "Mi"], 16, 256),
  workMem: fc.oneof(sizeText(["MB", "Mi"], 1, 16), sizeText(["kB"], 64, 8192)),
  statementTimeout: secondsText(0, 120),
  idleInTransactionSessionTimeout: secondsText(0, 600),
  lockTimeout: secondsText(0, 60),
  database: identifier,
  user: identifier,
};

const pgbouncerModel = {
  version: fc.constantFrom("1.18", "1.19", "1.22", "1.24", "1.24.1"),
  replicas: fc.integer({ min: 1, max: 4 }),
  port: fc.integer({ min: 1024, max: 65535 }),
  poolMode: fc.constantFrom(...POOL_MODES),
  maxClientConn: fc.integer({ min: 100, max: 5000 }),
  defaultPoolSize: fc.integer({ min: 1, max: 100 }),
  minPoolSize: fc.integer({ min: 0, max: 30 }),
  reservePoolSize: fc.integer({ min: 0, max: 10 }),
  reservePoolTimeout: secondsText(0, 10),
  serverLifetime: secondsText(60, 7200),
  serverIdleTimeout: secondsText(0, 3600),
  serverConnectTimeout: secondsText(1, 30),
  serverLoginRetry: secondsText(1, 30),
  queryTimeout: secondsText(0, 300),
  queryWaitTimeout: secondsText(0, 300),
  clientIdleTimeout: fc.oneof(fc.constant("0s"), secondsText(0, 600)),
  clientLoginTimeout: secondsText(1, 120),
  maxPreparedStatements: fc.integer({ min: 0, max: 1000 }),
  logConnections: fc.boolean(),
  logDisconnections: fc.boolean(),
  statsPeriod: secondsText(1, 300),
  adminUser: identifier,
  statsUser: identifier,
};

const redisModel = {
  port: fc.integer({ min: 1024, max: 65535 }),
  memory: sizeText(["Mi", "MB"], 64, 1024),
  maxMemory: sizeText(["Mi", "MB"], 16, 1024),
  maxMemoryPolicy: fc.constantFrom(...REDIS_EVICTION_POLICIES),
  maxClients: fc.integer({ min: 100, max: 10_000 }),
  timeout: secondsText(0, 600),
  tcpKeepalive: secondsText(0, 300),
  appendOnly: fc.boolean(),
};

const probeModel = {
  replicas: fc.integer({ min: 1, max: 4 }),
  postgresPoolMax: fc.integer({ min: 1, max: 300 }),
  postgresIdleTimeout: secondsText(0, 60),
  httpKeepAliveTimeout: secondsText(1, 10),
  serverKeepAliveTimeout: secondsText(1, 10),
};

const optional = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T) => fc.record(model, { requiredKeys: [] });

/** Anywhere near the valid region: many are refused, by one rule or several. */
const rawArb = fc.record(
  { postgres: optional(postgresModel), pgbouncer: optional(pgbouncerModel), redis: optional(redisModel), probe: optional(probeModel) },
  { requiredKeys: [] },
);

/** Ranges narrowed so the cross-field rules mostly hold: most are accepted. */
const mostlyValidRawArb = fc.record(
  {
    postgres: optional({
      ...postgresModel,
      maxConnections: fc.integer({ min: 500, max: 2000 }),
      memory: sizeText(["Gi", "GB"], 2, 16),
      sharedBuffers: sizeText(["MB", "Mi"], 16, 400),
      effectiveCacheSize: sizeText(["MB", "Mi"], 64, 2048),
      workMem: fc.oneof(sizeText(["MB", "Mi"], 1, 2), sizeText(["kB"], 64, 2048)),
      statementTimeout: fc.oneof(fc.constant("0s"), secondsText(6, 59)),
      lockTimeout: secondsText(0, 5),
    }),
    pgbouncer: optional({
      ...pgbouncerModel,
      maxClientConn: fc.integer({ min: 1200, max: 5000 }),
      defaultPoolSize: fc.integer({ min: 30, max: 100 }),
      queryTimeout: fc.oneof(fc.constant("0s"), secondsText(60, 300)),
      queryWaitTimeout: fc.oneof(fc.constant("0s"), secondsText(31, 300)),
      clientIdleTimeout: fc.oneof(fc.constant("0s"), secondsText(61, 600)),
    }),
    redis: optional({ ...redisModel, maxMemory: sizeText(["Mi", "MB"], 16, 64) }),
    probe: optional({
      ...probeModel,
      postgresIdleTimeout: secondsText(1, 60),
      httpKeepAliveTimeout: secondsText(1, 4),
      serverKeepAliveTimeout: secondsText(5, 10),
    }),
  },
  { requiredKeys: [] },
);

type Raw = Record<string, Record<string, unknown>>;

/** A raw value the generator wrote as text, read the way a person means it. */
const msOf = (text: unknown) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(String(text))!;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms"]);
};
const bytesOf = (text: unknown) => {
  const m = /^(\d+)(kB|MB|Mi|GB|Gi)$/.exec(String(text))!;
  return Number(m[1]) * { kB: KiB, MB: MiB, Mi: MiB, GB: GiB, Gi: GiB }[m[2] as "kB"];
};

// ---------------------------------------------------------------------------------------------------

describe("a derived pool size", () => {
  test("is the smallest per-replica pool that gives PostgreSQL its connections per CPU, never below the minimum, and its min and reserve fit it", () => {
    fc.assert(
      fc.property(cpuText, fc.integer({ min: 1, max: 50 }), ({ text, milli }, replicas) => {
        const pool = derivedDefaultPoolSize(text, replicas);
        const wanted = (SERVER_CONNECTIONS_PER_CPU * milli) / 1000;
        expect(pool).toBeGreaterThanOrEqual(MIN_DERIVED_POOL_SIZE);
        // Enough in total: every replica's pool together reaches the connections per CPU...
        expect(pool * replicas).toBeGreaterThanOrEqual(wanted);
        // ...and not one more than needed, unless the minimum holds it up.
        if (pool > MIN_DERIVED_POOL_SIZE) expect((pool - 1) * replicas).toBeLessThan(wanted);
        expect(derivedMinPoolSize(pool)).toBeLessThanOrEqual(pool);
        expect(derivedReservePoolSize(pool)).toBeGreaterThanOrEqual(1);
        expect(derivedReservePoolSize(pool)).toBeLessThanOrEqual(pool);
      }),
    );
  });
});

describe("every accepted config renders files that read back to its values", () => {
  test("pgbouncer.ini, postgresql.conf and redis.conf hold exactly the configured values", () => {
    let acceptedCount = 0;
    fc.assert(
      fc.property(mostlyValidRawArb, (raw: Raw) => {
        const result = checkStackConfig(raw, OPTS);
        if (!result.ok) return;
        acceptedCount++;
        const cfg = result.config;
        const want = <T>(section: string, field: string, read: (v: unknown) => T, fallback: T): T =>
          raw[section]?.[field] === undefined ? fallback : read(raw[section]![field]);
        const asIs = (v: unknown) => v;

        // Pool sizes left unset follow postgres.cpu and pgbouncer.replicas.
        const derivedPool = derivedDefaultPoolSize(String(raw.postgres?.cpu ?? "1"), Number(raw.pgbouncer?.replicas ?? 2));
        const pool = want("pgbouncer", "defaultPoolSize", Number, derivedPool);

        // The parse itself keeps what was written.
        expect(cfg.pgbouncer.defaultPoolSize).toBe(pool);
        expect(cfg.pgbouncer.queryTimeout).toBe(want("pgbouncer", "queryTimeout", msOf, 60_000));
        expect(cfg.postgres.workMem).toBe(want("postgres", "workMem", bytesOf, 4 * MiB));

        const ini = parseIni(renderPgbouncerIni(cfg, RUNTIME.pgbouncer));
        const pb = ini.get("pgbouncer")!;
        expect([...ini.keys()]).toEqual(["", "databases", "pgbouncer"]);
        expect(ini.get("databases")).toEqual(new Map([[cfg.postgres.database, `host=postgres port=5432 dbname=${cfg.postgres.database}`]]));
        expect(int(pb.get("default_pool_size"))).toBe(pool);
        expect(int(pb.get("min_pool_size"))).toBe(want("pgbouncer", "minPoolSize", asIs, derivedMinPoolSize(pool)));
        expect(int(pb.get("reserve_pool_size"))).toBe(want("pgbouncer", "reservePoolSize", asIs, derivedReservePoolSize(pool)));
        expect(int(pb.get("max_client_conn"))).toBe(want("pgbouncer", "maxClientConn", asIs, 1000));
        expect(int(pb.get("listen_port"))).toBe(want("pgbouncer", "port", asIs, 6432));
        expect(int(pb.get("max_db_connections"))).toBe(cfg.pgbouncer.defaultPoolSize + cfg.pgbouncer.reservePoolSize);
        expect(pb.get("pool_mode")).toBe(want("pgbouncer", "poolMode", asIs, "transaction"));
        expect(pb.get("log_connections")).toBe(want("pgbouncer", "logConnections", asIs, false) ? "1" : "0");
        expect(pb.get("admin_users")).toBe(want("pgbouncer", "adminUser", asIs, "pgbouncer_admin"));
        expect(pb.get("stats_users")).toBe(want("pgbouncer", "statsUser", asIs, "pgbouncer_stats"));
        expect(pb.get("auth_type")).toBe("hba");
        for (const [setting, field, def] of [
          ["query_timeout", "queryTimeout", 60_000],
          ["query_wait_timeout", "queryWaitTimeout", 120_000],
          ["client_idle_timeout", "clientIdleTimeout", 0],
          ["client_login_timeout", "clientLoginTimeout", 60_000],
          ["reserve_pool_timeout", "reservePoolTimeout", 3000],
          ["server_lifetime", "serverLifetime", 3_600_000],
          ["server_idle_timeout", "serverIdleTimeout", 600_000],
          ["server_connect_timeout", "serverConnectTimeout", 15_000],
          ["server_login_retry", "serverLoginRetry", 1000],
        ] as const) {
          expect(pgbouncerMs(pb.get(setting)!), setting).toBe(want("pgbouncer", field, msOf, def));
        }
        const version = want("pgbouncer", "version", asIs, "1.24");
        const prepared = want("pgbouncer", "maxPreparedStatements", asIs, undefined as unknown);
        const gated = version === "1.18" || version === "1.19";
        expect(pb.get("max_prepared_statements")).toBe(gated ? undefined : String(prepared ?? 200));

        const pg = parseIni(renderPostgresqlConf(cfg, RUNTIME.postgres)).get("")!;
        const memory = want("postgres", "memory", bytesOf, GiB);
        expect(int(pg.get("max_connections"))).toBe(want("postgres", "maxConnections", asIs, 200));
        expect(int(pg.get("superuser_reserved_connections"))).toBe(want("postgres", "superuserReservedConnections", asIs, 3));
        expect(pgBytes(pg.get("work_mem")!)).toBe(want("postgres", "workMem", bytesOf, 4 * MiB));
        expect(pgBytes(pg.get("maintenance_work_mem")!)).toBe(want("postgres", "maintenanceWorkMem", bytesOf, 64 * MiB));
        expect(pgBytes(pg.get("shared_buffers")!)).toBe(want("postgres", "sharedBuffers", bytesOf, memory / 4));
        expect(pgBytes(pg.get("effective_cache_size")!)).toBe(want("postgres", "effectiveCacheSize", bytesOf, (memory * 3) / 4));
        expect(pgMs(pg.get("statement_timeout")!)).toBe(want("postgres", "statementTimeout", msOf, 30_000));
        expect(pgMs(pg.get("lock_timeout")!)).toBe(want("postgres", "lockTimeout", msOf, 10_000));
        expect(pgMs(pg.get("idle_in_transaction_session_timeout")!)).toBe(want("postgres", "idleInTransactionSessionTimeout", msOf, 30_000));

        const redis = parseRedisConf(renderRedisConf(cfg, RUNTIME.redis));
        const rs = redis.settings;
        expect(redis.includes).toEqual([RUNTIME.redis.authFile]);
        expect(int(rs.get("maxclients"))).toBe(want("redis", "maxClients", asIs, 1000));
        expect(int(rs.get(cfg.tls.enabled ? "tls-port" : "port"))).toBe(want("redis", "port", asIs, 6379));
        expect(int(rs.get("maxmemory"))).toBe(want("redis", "maxMemory", bytesOf, (want("redis", "memory", bytesOf, 256 * MiB) * 3) / 4));
        expect(int(rs.get("timeout"))).toBe(Math.ceil(want("redis", "timeout", msOf, 300_000) / 1000));
        expect(int(rs.get("tcp-keepalive"))).toBe(Math.ceil(want("redis", "tcpKeepalive", msOf, 60_000) / 1000));
        expect(rs.get("maxmemory-policy")).toBe(want("redis", "maxMemoryPolicy", asIs, "noeviction"));
        expect(rs.get("appendonly")).toBe(want("redis", "appendOnly", asIs, true) ? "yes" : "no");
      }),
      { numRuns: 1500 },
    );
    // Guards against a generator that drifted out of the valid region and now tests nothing.
    expect(acceptedCount).toBeGreaterThan(600);
  });

  test("userlist.txt names exactly the configured users", () => {
    // Three distinct names, none the superuser's: the config refuses anything else.
    const users = fc
      .uniqueArray(identifier.filter((n) => n !== "postgres"), { minLength: 3, maxLength: 3 })
      .map(([user, adminUser, statsUser]) => ({ postgres: { user: user! }, pgbouncer: { adminUser: adminUser!, statsUser: statsUser! } }));
    fc.assert(
      fc.property(users, (raw) => {
        const cfg = parseStackConfig(raw, OPTS);
        const names = renderUserlist(cfg, SECRETS)
          .split("\n")
          .filter((l) => !l.startsWith(";") && l !== "")
          .map((l) => /^"([a-z0-9_]+)" "SCRAM-SHA-256\$4096:[^"\s]+"$/.exec(l)?.[1]);
        expect(names.sort()).toEqual([raw.postgres.user, raw.pgbouncer.adminUser, raw.pgbouncer.statsUser].sort());
      }),
      { numRuns: 30 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------

const anyValue = fc.oneof(fc.anything(), fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.constant(undefined));
const FIELDS = Object.entries(SECTIONS).flatMap(([section, schema]) => Object.keys(schema.shape).map((field) => [section, field] as const));

/** A near-valid config with one field, one section or an extra key replaced by anything at all. */
const mutatedRawArb = fc.tuple(rawArb, fc.constantFrom(...FIELDS), anyValue, fc.nat(3), fc.string()).map(([raw, [section, field], value, where, extra]) => {
  const copy: Record<string, unknown> = { ...raw };
  if (where === 0) copy[section] = value;
  else if (where === 1) copy[section] = { ...(raw as Raw)[section], [extra]: value };
  else copy[section] = { ...(raw as Raw)[section], [field]: value };
  return copy;
});

describe("every refused config", () => {
  test("yields problems keyed under pooling: and a ConfigError, never another error", () => {
    let refusedCount = 0;
    fc.assert(
      fc.property(fc.oneof(rawArb, mutatedRawArb, fc.dictionary(fc.string(), anyValue)), (raw) => {
        const result = checkStackConfig(raw, OPTS);
        if (result.ok) return;
        refusedCount++;
        expect(result.problems.length).toBeGreaterThan(0);
        for (const p of result.problems) {
          expect(p.key.startsWith("pooling:")).toBe(true);
          expect(p.message.length).toBeGreaterThan(0);
        }
        let thrown: unknown;
        try {
          parseStackConfig(raw, OPTS);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(ConfigError);
        expect((thrown as ConfigError).problems).toEqual(result.problems);
        expect((thrown as ConfigError).message).toMatch(/^Stack "prop" has \d+ config problems?; nothing was rendered:\n/);
      }),
      { numRuns: 1500 },
    );
    expect(refusedCount).toBeGreaterThan(300);
  });

  test("a config that is not a mapping is refused under the bare namespace key", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(anyValue)), (raw) => {
        const result = checkStackConfig(raw, OPTS);
        expect(result.ok).toBe(false);
        if (!result.ok) for (const p of result.problems) expect(p.key).toMatch(/^pooling(:|$)/);
        expect(() => parseStackConfig(raw, OPTS)).toThrow(ConfigError);
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------

const MARK = "zqxinjected";
const hostileString = fc.oneof(
  fc.constantFrom(
    `app\n${MARK} = 1`,
    `app\r\n${MARK} = 1`,
    `app\r${MARK} = 1`,
    `app;${MARK}=1`,
    `app = ${MARK}`,
    `app ${MARK}`,
    `'app'; ${MARK}`,
    `"app" "${MARK}"`,
    `app\n[${MARK}]\n`,
    `[${MARK}]`,
    `app\0${MARK}`,
    `30s\n${MARK} = 1`,
    `30s\r${MARK}`,
    `1Gi\n${MARK} = 1`,
    `transaction\n${MARK} = 1`,
    `1.24\n${MARK} = 1`,
    `app\u2028${MARK}`,
    `app\u0085${MARK}`,
    `${MARK}`.repeat(10_000),
    `\n${MARK}\n`,
  ),
  fc
    .tuple(fc.string({ maxLength: 10 }), fc.constantFrom("\n", "\r", ";", "=", "'", '"', "[", "]", "\0", " ", "#", "\t"), fc.string({ maxLength: 10 }))
    .map(([a, sep, b]) => `${a}${sep}${MARK}${sep}${b}`),
);
const hostileValue = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("value", MARK, "__proto__"), hostileString) },
);
const hostileKey = fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", `defaultPoolSize\n${MARK}`, `[${MARK}]`, `${MARK} = 1`);

/** Sets an own, enumerable property even for `__proto__`, as JSON.parse and YAML loaders do. */
function own(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

const hostileRawArb = fc.oneof(
  // A hostile value in a known field.
  fc.tuple(fc.constantFrom(...FIELDS), hostileValue).map(([[section, field], value]) => ({ [section]: own({}, field, value) })),
  // A hostile key inside a section.
  fc.tuple(fc.constantFrom(...Object.keys(SECTIONS)), hostileKey, hostileValue).map(([section, k, value]) => ({ [section]: own({}, k, value) })),
  // A hostile key at the top.
  fc.tuple(hostileKey, hostileValue).map(([k, value]) => own({}, k, value)),
  // A hostile namespace or a whole section replaced.
  fc.tuple(fc.constantFrom("namespace", ...Object.keys(SECTIONS)), hostileValue).map(([k, value]) => ({ [k]: value })),
);

function renderText(cfg: StackConfig): string {
  return [renderPgbouncerIni(cfg, RUNTIME.pgbouncer), renderPostgresqlConf(cfg, RUNTIME.postgres), renderPgHbaConf(cfg, RUNTIME.postgres), renderRedisConf(cfg, RUNTIME.redis)].join("\n");
}

describe("hostile input", () => {
  test("never reaches a rendered file: it is refused, or the files carry no trace of it", () => {
    fc.assert(
      fc.property(hostileRawArb, (raw) => {
        const result = checkStackConfig(raw, OPTS);
        if (!result.ok) {
          expect(() => parseStackConfig(raw, OPTS)).toThrow(ConfigError);
          return;
        }
        const text = renderText(result.config);
        expect(text).not.toContain(MARK);
        expect(text).not.toMatch(/[\r\0\u2028\u0085]/);
        parseIni(renderPgbouncerIni(result.config, RUNTIME.pgbouncer));
        parseIni(renderPostgresqlConf(result.config, RUNTIME.postgres));
        parseRedisConf(renderRedisConf(result.config, RUNTIME.redis));
      }),
      { numRuns: 1500 },
    );
  });

  test("in an identifier it is always refused, so userlist.txt and the [databases] line stay intact", () => {
    const fields = ["postgres.database", "postgres.user", "pgbouncer.adminUser", "pgbouncer.statsUser"] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), hostileValue, (path, value) => {
        const [section, field] = path.split(".") as [string, string];
        const result = checkStackConfig({ [section]: own({}, field, value) }, OPTS);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.problems.map((p) => p.key)).toContain(`pooling:${path}`);
      }),
      { numRuns: 300 },
    );
  });

  test("prototype-pollution keys are reported as unknown keys and pollute nothing", () => {
    fc.assert(
      fc.property(fc.constantFrom("__proto__", "constructor", "prototype"), fc.constantFrom("", ...Object.keys(SECTIONS)), (k, section) => {
        const payload = { defaultPoolSize: 1, polluted: MARK };
        const raw = section === "" ? own({}, k, payload) : { [section]: own({}, k, payload) };
        const result = checkStackConfig(raw, OPTS);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.problems.map((p) => p.key)).toEqual([section === "" ? `pooling:${k}` : `pooling:${section}.${k}`]);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.prototype).not.toHaveProperty("polluted");
      }),
      { numRuns: 50 },
    );
  });
});
