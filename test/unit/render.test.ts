import { createHash, createHmac } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { readFileSync } from "node:fs";
import { loadStackFile, rawFromStackYaml } from "../../infra/config/file.ts";
import { parseStackConfig, type StackConfig } from "../../infra/config/index.ts";
import {
  contentHash,
  pgbouncerRestartChecksum,
  pgbouncerSettings,
  pgDuration,
  pgSize,
  probeEnvironment,
  renderAll,
  renderPgbouncerIni,
  renderPostgresqlConf,
  renderRedisAuthConf,
  renderUserlist,
  scramVerifier,
  SECRET_FILES,
  type Runtime,
  type StackSecrets,
} from "../../infra/render/index.ts";

const DEV_STACK_FILE = fileURLToPath(new URL("../../Pulumi.dev.yaml", import.meta.url));
const DEV = loadStackFile(DEV_STACK_FILE);
const devRaw = rawFromStackYaml(readFileSync(DEV_STACK_FILE, "utf8"), "dev") as { pgbouncer?: object };
/**
 * The dev stack with the seed's pool sizes set: pgbouncer.ini's snapshot is rendered from it, so the
 * snapshot does not move with SERVER_CONNECTIONS_PER_CPU (pools.test.ts tests the derived sizes).
 */
const DEV_SEED_POOLS = parseStackConfig({ ...devRaw, pgbouncer: { ...devRaw.pgbouncer, defaultPoolSize: 25, minPoolSize: 10, reservePoolSize: 5 } }, { stack: "dev" });

const salt = (byte: number) => Buffer.alloc(16, byte).toString("base64");
/** Fixed test-only secrets, so every render is the same and snapshots are stable. */
const SECRETS: StackSecrets = {
  superuser: { password: "test-superuser-password", salt: salt(1) },
  app: { password: "test-app-password", salt: salt(2) },
  pgbouncerAdmin: { password: "test-admin-password", salt: salt(3) },
  pgbouncerStats: { password: "test-stats-password", salt: salt(4) },
  redisPassword: "test-redis-password",
};
const PASSWORDS = [SECRETS.superuser, SECRETS.app, SECRETS.pgbouncerAdmin, SECRETS.pgbouncerStats].map((s) => s.password).concat(SECRETS.redisPassword);

const tlsFiles = (dir: string) => ({ ca: `${dir}/ca.crt`, cert: `${dir}/tls.crt`, key: `${dir}/tls.key` });
const RUNTIME: Runtime = {
  postgres: {
    listenAddresses: "*",
    port: 5432,
    unixSocketDir: "/var/run/postgresql",
    hbaFile: "/etc/postgresql/pg_hba.conf",
    hbaNetworks: ["10.0.0.0/8", "127.0.0.1/32"],
    tls: tlsFiles("/etc/postgresql/tls"),
  },
  pgbouncer: {
    listenAddr: "0.0.0.0",
    serverHost: "postgres.pooling.svc",
    serverPort: 5432,
    authFile: "/etc/pgbouncer/userlist.txt",
    hbaFile: "/etc/pgbouncer/pgbouncer_hba.conf",
    clientNetworks: ["10.0.0.0/8"],
    unixSocketDir: "",
    tls: { ...tlsFiles("/etc/pgbouncer/tls"), clientCert: "/etc/pgbouncer/client-tls/tls.crt", clientKey: "/etc/pgbouncer/client-tls/tls.key" },
  },
  redis: { bind: "0.0.0.0", dir: "/data", authFile: "/etc/redis/auth.conf", tls: tlsFiles("/etc/redis/tls") },
};

const FILES = renderAll(DEV, SECRETS, RUNTIME);
const withConfig = (raw: object) => parseStackConfig(raw, { stack: "dev" });

/** key → value of `key = value` lines (or `key value` for Redis), comments and sections skipped. */
function settingsOf(text: string, separator: RegExp = / = /): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#") || line.startsWith(";") || line.startsWith("[")) continue;
    const m = separator.exec(line);
    if (m) out.set(line.slice(0, m.index), line.slice(m.index + m[0].length));
  }
  return out;
}

function pgbouncerSection(ini: string): string {
  return ini.slice(ini.indexOf("[pgbouncer]"));
}

describe("rendered files of the dev stack", () => {
  test("postgresql.conf matches its snapshot", async () => {
    await expect(FILES["postgresql.conf"]).toMatchFileSnapshot("__snapshots__/postgresql.conf");
  });

  test("pg_hba.conf matches its snapshot", async () => {
    await expect(FILES["pg_hba.conf"]).toMatchFileSnapshot("__snapshots__/pg_hba.conf");
  });

  test("pgbouncer.ini matches its snapshot", async () => {
    await expect(renderAll(DEV_SEED_POOLS, SECRETS, RUNTIME)["pgbouncer.ini"]).toMatchFileSnapshot("__snapshots__/pgbouncer.ini");
  });

  test("userlist.txt matches its snapshot", async () => {
    await expect(FILES["userlist.txt"]).toMatchFileSnapshot("__snapshots__/userlist.txt");
  });

  test("redis.conf matches its snapshot", async () => {
    await expect(FILES["redis.conf"]).toMatchFileSnapshot("__snapshots__/redis.conf");
  });

  test("are identical across two renders", () => {
    expect(renderAll(DEV, SECRETS, RUNTIME)).toEqual(FILES);
  });

  test.each(["postgresql.conf", "pg_hba.conf", "pgbouncer.ini", "userlist.txt", "redis.conf"] as const)(
    "%s starts with a line naming the stack and the hash of the rest",
    (name) => {
      const [first, ...rest] = FILES[name].split("\n");
      const comment = name === "pgbouncer.ini" || name === "userlist.txt" ? ";;" : "#";
      expect(first).toBe(`${comment} ${name} for stack "dev", rendered by pooling; content sha256:${contentHash(rest.join("\n"))}`);
    },
  );

  test("the header hash changes when the content changes", () => {
    const other = renderPgbouncerIni(withConfig({ pgbouncer: { defaultPoolSize: 24 } }), RUNTIME.pgbouncer);
    const hashOf = (text: string) => /content sha256:([0-9a-f]{16})$/m.exec(text)?.[1];
    expect(hashOf(other)).toMatch(/^[0-9a-f]{16}$/);
    expect(hashOf(other)).not.toBe(hashOf(FILES["pgbouncer.ini"]));
  });

  test("the header names the stack the config was parsed for", () => {
    const prod = parseStackConfig({}, { stack: "prod" });
    expect(renderPostgresqlConf(prod, RUNTIME.postgres).split("\n")[0]).toMatch(/^# postgresql\.conf for stack "prod", /);
  });

  test("a file is listed as secret exactly when it holds a password or a SCRAM verifier", () => {
    const holdsSecret = (text: string) => text.includes("SCRAM-SHA-256$") || PASSWORDS.some((p) => text.includes(p));
    const secretByContent = Object.entries(FILES).filter(([, text]) => holdsSecret(text)).map(([name]) => name);
    expect([...SECRET_FILES].sort()).toEqual(secretByContent.sort());
  });

  test("no password appears in any file but the Redis auth file", () => {
    for (const [name, text] of Object.entries(FILES)) {
      if (name === "redis-auth.conf") continue;
      for (const password of PASSWORDS) expect(text, `${name} holds a password`).not.toContain(password);
    }
  });
});

describe("settings order", () => {
  test.each([
    ["postgresql.conf", / = /],
    ["pgbouncer.ini", / = /],
    ["redis.conf", / /],
  ] as const)("%s lists its settings sorted by name", (name, separator) => {
    const text = name === "pgbouncer.ini" ? pgbouncerSection(FILES[name]) : FILES[name];
    const keys = [...settingsOf(text, separator).keys()].filter((k) => k !== "include");
    expect(keys.length).toBeGreaterThan(5);
    expect(keys).toEqual([...keys].sort());
  });
});

describe("postgresql.conf", () => {
  const settings = settingsOf(FILES["postgresql.conf"]);

  test("derives shared_buffers and effective_cache_size from the memory", () => {
    expect(settings.get("shared_buffers")).toBe("'256MB'");
    expect(settings.get("effective_cache_size")).toBe("'768MB'");
  });

  test("writes timeouts in PostgreSQL's own units", () => {
    expect(settings.get("statement_timeout")).toBe("'30s'");
    expect(settings.get("lock_timeout")).toBe("'10s'");
  });

  test("stores passwords as SCRAM-SHA-256", () => {
    expect(settings.get("password_encryption")).toBe("'scram-sha-256'");
  });

  test("writes numbers unquoted and booleans as on/off", () => {
    expect(settings.get("max_connections")).toBe("200");
    expect(settings.get("logging_collector")).toBe("off");
  });
});

describe("pg_hba.conf", () => {
  test("allows every login only with SCRAM-SHA-256", () => {
    const rules = FILES["pg_hba.conf"].split("\n").filter((l) => /^(local|host\w*)\t/.test(l));
    expect(rules).toEqual([
      "local\tall\tall\t\tscram-sha-256",
      "hostnossl\tall\tall\t0.0.0.0/0\treject",
      "hostnossl\tall\tall\t::/0\treject",
      "hostssl\tall\tall\t10.0.0.0/8\tscram-sha-256",
      "hostssl\tall\tall\t127.0.0.1/32\tscram-sha-256",
    ]);
  });

  test("has no local rule when there is no unix socket", () => {
    const text = renderAll(DEV, SECRETS, { ...RUNTIME, postgres: { ...RUNTIME.postgres, unixSocketDir: "" } })["pg_hba.conf"];
    expect(text).not.toMatch(/^local/m);
  });
});

describe("pgbouncer.ini", () => {
  const settings = settingsOf(pgbouncerSection(FILES["pgbouncer.ini"]));

  test("authenticates clients through pgbouncer_hba.conf, where every rule is SCRAM-SHA-256", () => {
    expect(settings.get("auth_type")).toBe("hba");
    expect(settings.get("auth_hba_file")).toBe("/etc/pgbouncer/pgbouncer_hba.conf");
    const rules = FILES["pgbouncer_hba.conf"].split("\n").filter((l) => l.startsWith("host"));
    expect(rules.length).toBeGreaterThan(0);
    expect(rules.every((l) => l.endsWith("\tscram-sha-256"))).toBe(true);
  });

  test("lets the admin user reach the console from loopback only, and the stats user nothing but the console", () => {
    const rules = FILES["pgbouncer_hba.conf"].split("\n").filter((l) => l.startsWith("host")).map((l) => l.split("\t"));
    expect(rules.filter((r) => r[2] === "pgbouncer_admin").map((r) => [r[1], r[3]])).toEqual([
      ["pgbouncer", "127.0.0.1/32"],
      ["pgbouncer", "::1/128"],
    ]);
    expect(rules.filter((r) => r[2] === "pgbouncer_stats").map((r) => [r[1], r[3]])).toEqual([["pgbouncer", "10.0.0.0/8"]]);
    expect(rules.filter((r) => r[2] === "app").map((r) => [r[1], r[3]])).toEqual([["all", "10.0.0.0/8"]]);
  });

  test("pools the application database to the PostgreSQL server", () => {
    expect(FILES["pgbouncer.ini"]).toContain("[databases]\napp = host=postgres.pooling.svc port=5432 dbname=app\n");
  });

  test("writes durations as seconds", () => {
    expect(settings.get("query_timeout")).toBe("60");
    expect(settings.get("server_lifetime")).toBe("3600");
    expect(settings.get("client_idle_timeout")).toBe("0");
  });

  test("writes a fractional duration as fractional seconds", () => {
    const ini = renderPgbouncerIni(withConfig({ pgbouncer: { reservePoolTimeout: "1500ms" } }), RUNTIME.pgbouncer);
    expect(settingsOf(pgbouncerSection(ini)).get("reserve_pool_timeout")).toBe("1.5");
  });

  test("max_db_connections equals defaultPoolSize + reservePoolSize", () => {
    expect(settings.get("max_db_connections")).toBe(String(DEV.pgbouncer.defaultPoolSize + DEV.pgbouncer.reservePoolSize));
    const ini = renderPgbouncerIni(withConfig({ pgbouncer: { defaultPoolSize: 40, reservePoolSize: 7 } }), RUNTIME.pgbouncer);
    expect(settingsOf(pgbouncerSection(ini)).get("max_db_connections")).toBe("47");
  });

  test("has no max_prepared_statements for PgBouncer 1.18", () => {
    const ini = renderPgbouncerIni(withConfig({ pgbouncer: { version: "1.18" } }), RUNTIME.pgbouncer);
    expect(ini).not.toContain("max_prepared_statements");
  });

  test("has max_prepared_statements for PgBouncer 1.24", () => {
    const ini = renderPgbouncerIni(withConfig({ pgbouncer: { version: "1.24" } }), RUNTIME.pgbouncer);
    expect(settingsOf(pgbouncerSection(ini)).get("max_prepared_statements")).toBe("200");
  });

  test("renders a configured max_prepared_statements of 0", () => {
    const ini = renderPgbouncerIni(withConfig({ pgbouncer: { maxPreparedStatements: 0 } }), RUNTIME.pgbouncer);
    expect(settingsOf(pgbouncerSection(ini)).get("max_prepared_statements")).toBe("0");
  });

  test("leaves out optional runtime settings that are not given", () => {
    expect(settings.has("pidfile")).toBe(false);
    expect(settings.has("logfile")).toBe(false);
  });

  test("listens on the runtime's port when it overrides the configured one", () => {
    expect(pgbouncerSettings(DEV, { ...RUNTIME.pgbouncer, listenPort: 16432 }).listen_port).toBe(16432);
    expect(settings.get("listen_port")).toBe("6432");
  });

  test("names the admin and stats users", () => {
    expect(settings.get("admin_users")).toBe("pgbouncer_admin");
    expect(settings.get("stats_users")).toBe("pgbouncer_stats");
  });
});

describe("pgbouncerRestartChecksum", () => {
  test("changes with the listen port", () => {
    expect(pgbouncerRestartChecksum(DEV, { ...RUNTIME.pgbouncer, listenPort: 7432 })).not.toBe(pgbouncerRestartChecksum(DEV, RUNTIME.pgbouncer));
  });

  test("changes with the configured port", () => {
    expect(pgbouncerRestartChecksum(withConfig({ pgbouncer: { port: 7432 } }), RUNTIME.pgbouncer)).not.toBe(pgbouncerRestartChecksum(DEV, RUNTIME.pgbouncer));
  });

  test("does not change with defaultPoolSize, which RELOAD applies", () => {
    expect(pgbouncerRestartChecksum(withConfig({ pgbouncer: { defaultPoolSize: 20 } }), RUNTIME.pgbouncer)).toBe(pgbouncerRestartChecksum(DEV, RUNTIME.pgbouncer));
  });
});

describe("userlist.txt", () => {
  const lines = FILES["userlist.txt"].split("\n").filter((l) => l.startsWith('"'));

  test("holds one SCRAM-SHA-256 verifier per user, sorted by name", () => {
    expect(lines.map((l) => l.split(" ")[0])).toEqual(['"app"', '"pgbouncer_admin"', '"pgbouncer_stats"']);
    for (const line of lines) expect(line).toMatch(/^"[a-z_]+" "SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+"$/);
  });

  test("holds the verifier of each user's own password and salt", () => {
    expect(lines[0]).toBe(`"app" "${scramVerifier(SECRETS.app.password, Buffer.from(SECRETS.app.salt, "base64"))}"`);
  });

  test("names the configured application user", () => {
    const text = renderUserlist(withConfig({ postgres: { user: "shop" } }), SECRETS);
    expect(text).toMatch(/^"shop" "SCRAM-SHA-256\$4096:/m);
  });
});

describe("redis.conf", () => {
  const settings = settingsOf(FILES["redis.conf"], / /);

  test("includes the auth file instead of holding the password", () => {
    expect(FILES["redis.conf"]).not.toContain("requirepass");
    expect(FILES["redis.conf"].trimEnd().split("\n").at(-1)).toBe("include /etc/redis/auth.conf");
  });

  test("the auth file holds the password", () => {
    expect(FILES["redis-auth.conf"]).toBe('requirepass "test-redis-password"\n');
  });

  test("the auth file refuses a password that would need quoting", () => {
    expect(() => renderRedisAuthConf('pass"word\nrequirepass x')).toThrow("the Redis password must be URL-safe alphanumeric");
  });

  test("writes maxmemory in bytes and timeouts in seconds", () => {
    expect(settings.get("maxmemory")).toBe(String(192 * 1024 ** 2));
    expect(settings.get("timeout")).toBe("300");
    expect(settings.get("tcp-keepalive")).toBe("60");
  });

  test("rounds a timeout up to whole seconds so it is never shortened", () => {
    const text = renderAll(withConfig({ redis: { timeout: "1500ms" } }), SECRETS, RUNTIME)["redis.conf"];
    expect(settingsOf(text, / /).get("timeout")).toBe("2");
  });
});

describe("pgDuration", () => {
  test.each([
    [0, "0"],
    [1, "1ms"],
    [1500, "1500ms"],
    [30_000, "30s"],
    [60_000, "1min"],
    [90_000, "90s"],
    [3_600_000, "1h"],
    [5_400_000, "90min"],
    [86_400_000, "1d"],
  ])("writes %i ms as %s", (ms, text) => {
    expect(pgDuration(ms)).toBe(text);
  });
});

describe("pgSize", () => {
  test.each([
    [1024, "1kB"],
    [1536, "2kB"],
    [64 * 1024, "64kB"],
    [4 * 1024 ** 2, "4MB"],
    [256 * 1024 ** 2, "256MB"],
    [1024 ** 3, "1GB"],
    [1.5 * 1024 ** 3, "1536MB"],
  ])("writes %i bytes as %s", (bytes, text) => {
    expect(pgSize(bytes)).toBe(text);
  });
});

describe("scramVerifier", () => {
  // RFC 7677, section 3: user "user", password "pencil", this salt, 4096 iterations.
  const RFC_SALT = "W22ZaJ0SNY7soEsUEjb6gQ==";
  const RFC_NONCE = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const RFC_AUTH_MESSAGE = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${RFC_NONCE},s=${RFC_SALT},i=4096,c=biws,r=${RFC_NONCE}`;
  const RFC_CLIENT_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  const RFC_SERVER_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
  const verifier = scramVerifier("pencil", Buffer.from(RFC_SALT, "base64"));
  const [, storedKey, serverKey] = /^SCRAM-SHA-256\$4096:[^$]+\$([^:]+):(.+)$/.exec(verifier) ?? [];

  test("matches PostgreSQL's stored form for RFC 7677's example", () => {
    expect(verifier).toBe(`SCRAM-SHA-256$4096:${RFC_SALT}$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=`);
  });

  test("yields the server signature RFC 7677's exchange ends with", () => {
    const signature = createHmac("sha256", Buffer.from(serverKey!, "base64")).update(RFC_AUTH_MESSAGE).digest("base64");
    expect(signature).toBe(RFC_SERVER_SIGNATURE);
  });

  test("accepts the client proof RFC 7677's client sends", () => {
    const stored = Buffer.from(storedKey!, "base64");
    const clientSignature = createHmac("sha256", stored).update(RFC_AUTH_MESSAGE).digest();
    const proof = Buffer.from(RFC_CLIENT_PROOF, "base64");
    const clientKey = Buffer.from(proof.map((b, i) => b ^ clientSignature[i]!));
    expect(createHash("sha256").update(clientKey).digest().equals(stored)).toBe(true);
  });

  test("is the same for the same password and salt", () => {
    expect(scramVerifier("pencil", Buffer.from(RFC_SALT, "base64"))).toBe(verifier);
  });

  test("differs for another salt", () => {
    expect(scramVerifier("pencil", Buffer.alloc(16, 7))).not.toBe(verifier);
  });

  test("uses 4096 iterations by default", () => {
    expect(scramVerifier("pencil", Buffer.alloc(16))).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(scramVerifier("pencil", Buffer.alloc(16), 8192)).toMatch(/^SCRAM-SHA-256\$8192:/);
  });

  test("refuses a salt shorter than 16 bytes", () => {
    expect(() => scramVerifier("pencil", Buffer.alloc(15))).toThrow("a SCRAM salt needs at least 16 bytes");
  });

  test("never contains the password", () => {
    expect(verifier).not.toContain("pencil");
  });
});

describe("probeEnvironment", () => {
  const endpoints = { databaseUrl: "postgres://app@pgbouncer:6432/app", redisUrl: "redis://redis:6379", host: "0.0.0.0" };

  test("sets the probe's pools and timeouts from the dev stack", () => {
    expect(probeEnvironment(DEV, endpoints)).toEqual({
      PROBE_HOST: "0.0.0.0",
      PROBE_PORT: "8080",
      DATABASE_URL: "postgres://app@pgbouncer:6432/app",
      REDIS_URL: "redis://redis:6379",
      PG_POOL_MAX: "20",
      PG_IDLE_TIMEOUT_MS: "10000",
      PG_CONNECTION_TIMEOUT_MS: "5000",
      PG_PREPARED_STATEMENTS: "true",
      HTTP_MAX_SOCKETS: "50",
      HTTP_KEEPALIVE_TIMEOUT_MS: "4000",
      SERVER_KEEPALIVE_TIMEOUT_MS: "5000",
      SHUTDOWN_GRACE_MS: "10000",
      METRICS_SCRAPE_INTERVAL_MS: "30000",
    });
  });

  test("adds the direct and stats URLs only when given", () => {
    const env = probeEnvironment(DEV, { ...endpoints, directDatabaseUrl: "postgres://postgres:5432/app", pgbouncerStatsUrl: "postgres://pgbouncer:6432/pgbouncer" });
    expect(env.DIRECT_DATABASE_URL).toBe("postgres://postgres:5432/app");
    expect(env.PGBOUNCER_ADMIN_URL).toBe("postgres://pgbouncer:6432/pgbouncer");
  });

  test("lets the endpoints override the port, including 0", () => {
    expect(probeEnvironment(DEV, { ...endpoints, port: 0 }).PROBE_PORT).toBe("0");
  });

  test("turns prepared statements off in transaction mode when PgBouncer cannot track them", () => {
    expect(probeEnvironment(withConfig({ pgbouncer: { version: "1.18" } }), endpoints).PG_PREPARED_STATEMENTS).toBe("false");
    expect(probeEnvironment(withConfig({ pgbouncer: { maxPreparedStatements: 0 } }), endpoints).PG_PREPARED_STATEMENTS).toBe("false");
  });

  test("turns prepared statements on in session mode whatever the version", () => {
    const cfg: StackConfig = withConfig({ pgbouncer: { version: "1.18", poolMode: "session" } });
    expect(probeEnvironment(cfg, endpoints).PG_PREPARED_STATEMENTS).toBe("true");
  });
});

describe("TLS settings", () => {
  const CLIENT_CERTS = withConfig({ tls: { clientCertificates: true, minVersion: "TLSv1.3" } });
  const OFF = withConfig({ tls: { enabled: false } });
  const pgbouncer = (cfg: StackConfig) => settingsOf(pgbouncerSection(renderAll(cfg, SECRETS, RUNTIME)["pgbouncer.ini"]));
  const redis = (cfg: StackConfig) => settingsOf(renderAll(cfg, SECRETS, RUNTIME)["redis.conf"], / /);
  const postgres = (cfg: StackConfig) => settingsOf(renderAll(cfg, SECRETS, RUNTIME)["postgresql.conf"]);

  test("PgBouncer asks clients for their certificate and shows its own to PostgreSQL when client certificates are required", () => {
    expect(Object.fromEntries([...pgbouncer(CLIENT_CERTS)].filter(([k]) => k.includes("_tls_")))).toEqual({
      client_tls_ca_file: "/etc/pgbouncer/tls/ca.crt",
      client_tls_cert_file: "/etc/pgbouncer/tls/tls.crt",
      client_tls_key_file: "/etc/pgbouncer/tls/tls.key",
      client_tls_protocols: "tlsv1.3",
      client_tls_sslmode: "verify-full",
      server_tls_ca_file: "/etc/pgbouncer/tls/ca.crt",
      server_tls_cert_file: "/etc/pgbouncer/client-tls/tls.crt",
      server_tls_key_file: "/etc/pgbouncer/client-tls/tls.key",
      server_tls_protocols: "tlsv1.3",
      server_tls_sslmode: "verify-full",
    });
  });

  test("PostgreSQL checks client certificates against the CA, on top of SCRAM, when they are required", () => {
    expect(postgres(CLIENT_CERTS).get("ssl_ca_file")).toBe("'/etc/postgresql/tls/ca.crt'");
    expect(postgres(CLIENT_CERTS).get("ssl_min_protocol_version")).toBe("'TLSv1.3'");
    expect(renderAll(CLIENT_CERTS, SECRETS, RUNTIME)["pg_hba.conf"]).toMatch(/^hostssl\tall\tall\t10\.0\.0\.0\/8\tscram-sha-256 clientcert=verify-ca$/m);
  });

  test("Redis requires client certificates and takes only TLS 1.3 when so configured", () => {
    expect(redis(CLIENT_CERTS).get("tls-auth-clients")).toBe("yes");
    expect(redis(CLIENT_CERTS).get("tls-protocols")).toBe('"TLSv1.3"');
  });

  test("with TLS off every server listens in plaintext, as the benchmark's baseline", () => {
    expect(postgres(OFF).get("ssl")).toBe("off");
    expect(pgbouncer(OFF).get("client_tls_sslmode")).toBe("disable");
    expect(pgbouncer(OFF).get("server_tls_sslmode")).toBe("disable");
    expect(redis(OFF).get("port")).toBe("6379");
    expect(redis(OFF).has("tls-port")).toBe(false);
    expect(renderAll(OFF, SECRETS, RUNTIME)["pg_hba.conf"]).not.toMatch(/hostssl|hostnossl/);
  });

  test("a runtime without certificate files is a bug of its caller when TLS is on", () => {
    const { tls: _, ...postgresWithout } = RUNTIME.postgres;
    expect(() => renderPostgresqlConf(DEV, postgresWithout)).toThrow("pooling:tls.enabled is true but the postgres runtime names no certificate files");
  });
});
