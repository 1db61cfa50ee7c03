/**
 * Cross-field rules: the connection budget, timeouts that must be ordered, memory that must fit and
 * settings the target PgBouncer version does not know. Each rule names the fields it reads and returns
 * problems, never throws: it runs whenever those fields parsed, even when others in the stack file did
 * not, so the user sees every problem at once.
 */
import type { ParsedStackConfig } from "./schema.ts";
import { clusterRules } from "./cluster.ts";
import { key, rule, type FieldPath, type Problem, type Rule, type SectionName } from "./rule.ts";
import { DEFAULT_POOL_FIELDS, defaultPoolSizeOf, derivationOf, DERIVED_RESERVE_RULE, minPoolSizeOf, reservePoolSizeOf, type PoolInputs } from "./pools.ts";
import { formatDuration, formatSize } from "./units.ts";

export { key, type FieldPath, type Problem, type Rule } from "./rule.ts";

/** PgBouncer settings that only some versions know; asking for one on an older version is refused. */
export const PGBOUNCER_VERSION_GATES: ReadonlyArray<{ field: keyof ParsedStackConfig["pgbouncer"]; setting: string; since: string }> = [
  { field: "maxPreparedStatements", setting: "max_prepared_statements", since: "1.21" },
];

/** The first PgBouncer with client_tls_* and server_tls_*. */
export const PGBOUNCER_TLS_SINCE = "1.7";

export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * How the PgBouncer Deployment rolls, and so how many pods hold server connections at once during a roll.
 *
 * The deployment controller counts only pods that are not terminating (kubernetes v1.37.2
 * pkg/controller/deployment: maxSurge bounds the replicas of all ReplicaSets, and a terminating pod has
 * left its ReplicaSet's count; apps/v1 has `status.terminatingReplicas` from KEP-3973, but no field that
 * makes a Deployment wait for them). A PgBouncer pod keeps its pools while it terminates: its preStop
 * waits ENDPOINT_DRAIN_SECONDS for the Service to stop sending it clients, then shuts down safely. So a
 * roll holds, at its peak, the pods the strategy keeps running (replicas + maxSurge) plus the pods a step
 * has just scaled down (maxSurge + maxUnavailable), provided a step lasts longer than the drain:
 * `minReadySeconds` on the Deployment sees to that (infra/k8s/manifests/pgbouncer-drain.ts). Seen on the
 * local cluster with maxSurge 1, maxUnavailable 0: four PgBouncer pods of two replicas at once.
 *
 * maxSurge 0 and maxUnavailable 1 keep that peak at replicas + 1: each step stops one old pod, which still
 * serves the clients it has while it drains, and starts its replacement. The budget counts that moment.
 */
export const PGBOUNCER_ROLLOUT = { maxSurge: 0, maxUnavailable: 1 } as const;

/** Pods above `pgbouncer.replicas` that hold server connections at a roll's peak (see PGBOUNCER_ROLLOUT). */
export const PGBOUNCER_ROLLOUT_EXTRA_PODS = 2 * PGBOUNCER_ROLLOUT.maxSurge + PGBOUNCER_ROLLOUT.maxUnavailable;

/**
 * Server connections the PgBouncer pods may open, and what PostgreSQL can give them. The figure that must
 * fit is the one during a rollout (`podsDuringRollout` pods); `atRestServerConnections` is the steady state.
 */
export function connectionBudget(cfg: ParsedStackConfig) {
  const { postgres: pg, pgbouncer: pb } = cfg;
  const perReplica = perReplicaConnections(cfg);
  const podsDuringRollout = pb.replicas + PGBOUNCER_ROLLOUT_EXTRA_PODS;
  const atRestServerConnections = atRestConnections(cfg);
  const pgbouncerServerConnections = podsDuringRollout * perReplica;
  const usable = pg.maxConnections - pg.superuserReservedConnections - pg.headroomConnections;
  return { perReplica, podsDuringRollout, atRestServerConnections, pgbouncerServerConnections, usable, spare: usable - pgbouncerServerConnections };
}

/** Server connections one PgBouncer pod may open: its pool and its reserve, explicit or derived. */
function perReplicaConnections(cfg: PoolInputs): number {
  return defaultPoolSizeOf(cfg) + reservePoolSizeOf(cfg);
}

/** Server connections the PgBouncer pods hold outside a rollout. */
function atRestConnections(cfg: ParsedStackConfig): number {
  return cfg.pgbouncer.replicas * perReplicaConnections(cfg);
}

/** The largest n in [lo, hi] for which fits(n) holds, or lo − 1 when none does. */
function largestFitting(lo: number, hi: number, fits: (n: number) => boolean): number {
  for (let n = hi; n >= lo; n--) if (fits(n)) return n;
  return lo - 1;
}

/**
 * The largest values that fit `usable` during a rollout, each changed alone: the pool size when any fits,
 * otherwise the replicas and the reserve pool, where some value of theirs does. Each is exact: one more
 * does not fit. A derived value follows the one changed (a derived reserve follows the pool, a derived
 * pool the replicas), so each candidate is judged with what it would derive.
 */
function budgetFixes(cfg: ParsedStackConfig, usable: number): string[] {
  const pb = cfg.pgbouncer;
  // Only the fields the budget rule declares: a rule reads nothing else (test/unit/rules.test.ts).
  const fits = (over: { defaultPoolSize?: number; replicas?: number; reservePoolSize?: number }) => {
    const next = { postgres: { cpu: cfg.postgres.cpu }, pgbouncer: { replicas: pb.replicas, defaultPoolSize: pb.defaultPoolSize, reservePoolSize: pb.reservePoolSize, ...over } };
    return (next.pgbouncer.replicas + PGBOUNCER_ROLLOUT_EXTRA_PODS) * perReplicaConnections(next) <= usable;
  };
  const maxPool = largestFitting(1, usable, (n) => fits({ defaultPoolSize: n }));
  if (maxPool >= 1) return [`lower it to at most ${maxPool}`];
  const fixes: string[] = [];
  const maxReplicas = largestFitting(1, pb.replicas, (n) => fits({ replicas: n }));
  if (maxReplicas >= 1) fixes.push(`lower ${key("pgbouncer.replicas")} to at most ${maxReplicas}`);
  const maxReserve = largestFitting(0, reservePoolSizeOf(cfg), (n) => fits({ reservePoolSize: n }));
  if (maxReserve >= 0) fixes.push(`lower ${key("pgbouncer.reservePoolSize")} to at most ${maxReserve}`);
  return fixes;
}

/** What a message adds when pool sizes were derived: how, so the user knows what to set instead. */
function derivedNote(cfg: ParsedStackConfig, which: { pool: boolean; reserve: boolean }): string {
  const notes = [
    ...(which.pool && cfg.pgbouncer.defaultPoolSize === undefined ? [`defaultPoolSize ${defaultPoolSizeOf(cfg)} was derived: ${derivationOf(cfg)}`] : []),
    ...(which.reserve && cfg.pgbouncer.reservePoolSize === undefined ? [`reservePoolSize ${reservePoolSizeOf(cfg)} was derived: ${DERIVED_RESERVE_RULE}`] : []),
  ];
  return notes.length === 0 ? "" : ` ${notes.join("; ")}; an explicit value in the stack file wins.`;
}

const BUDGET_FIELDS = [
  ...DEFAULT_POOL_FIELDS,
  "postgres.maxConnections",
  "postgres.superuserReservedConnections",
  "postgres.headroomConnections",
  "pgbouncer.reservePoolSize",
] as const satisfies readonly FieldPath[];

function budgetProblem(cfg: ParsedStackConfig): Problem | undefined {
  const { postgres: pg, pgbouncer: pb } = cfg;
  const b = connectionBudget(cfg);
  if (b.usable <= 0) {
    return {
      key: key("postgres.maxConnections"),
      value: pg.maxConnections,
      message:
        `nothing is left for PgBouncer: maxConnections ${pg.maxConnections} − superuserReservedConnections ${pg.superuserReservedConnections}` +
        ` − headroomConnections ${pg.headroomConnections} = ${b.usable}. Raise ${key("postgres.maxConnections")} or lower the reserved connections.`,
    };
  }
  if (b.spare >= 0) return undefined;
  const raise = `raise ${key("postgres.maxConnections")} to at least ${b.pgbouncerServerConnections + pg.superuserReservedConnections + pg.headroomConnections}`;
  const lower = budgetFixes(cfg, b.usable);
  const pool = defaultPoolSizeOf(cfg);
  return {
    key: key("pgbouncer.defaultPoolSize"),
    value: pool,
    message:
      `the PgBouncer pools need more server connections than PostgreSQL can give: (replicas ${pb.replicas} + ${PGBOUNCER_ROLLOUT_EXTRA_PODS} draining during a rollout)` +
      ` × (defaultPoolSize ${pool} + reservePoolSize ${reservePoolSizeOf(cfg)}) = ${b.pgbouncerServerConnections} > maxConnections ${pg.maxConnections}` +
      ` − superuserReservedConnections ${pg.superuserReservedConnections} − headroomConnections ${pg.headroomConnections} = ${b.usable}.` +
      (lower.length > 0 ? ` Either ${lower.join(", ")}, or ${raise}.` : ` ${raise.charAt(0).toUpperCase()}${raise.slice(1)}.`) +
      derivedNote(cfg, { pool: true, reserve: true }),
  };
}

const budgetRules: Rule[] = [
  rule(BUDGET_FIELDS, budgetProblem),
  rule(["pgbouncer.minPoolSize", ...DEFAULT_POOL_FIELDS], (cfg) => {
    const [min, pool] = [minPoolSizeOf(cfg), defaultPoolSizeOf(cfg)];
    if (min <= pool) return undefined;
    const derived = cfg.pgbouncer.defaultPoolSize === undefined;
    return {
      key: key("pgbouncer.minPoolSize"),
      value: min,
      message:
        `minPoolSize ${min} > defaultPoolSize ${pool}${derived ? ` (derived: ${derivationOf(cfg)})` : ""}: PgBouncer would keep more idle connections than the pool may hold.` +
        ` Set it to at most ${pool}${derived ? `, or set ${key("pgbouncer.defaultPoolSize")} to at least ${min}` : ""}.`,
    };
  }),
  rule(["probe.replicas", "probe.postgresPoolMax", "pgbouncer.maxClientConn"], ({ probe, pgbouncer: pb }) => {
    const probeClients = probe.replicas * probe.postgresPoolMax;
    if (probeClients <= pb.maxClientConn) return undefined;
    return {
      key: key("probe.postgresPoolMax"),
      value: probe.postgresPoolMax,
      message:
        `the probe pools can open more client connections than one PgBouncer accepts: replicas ${probe.replicas} × postgresPoolMax ${probe.postgresPoolMax}` +
        ` = ${probeClients} > ${key("pgbouncer.maxClientConn")} ${pb.maxClientConn}. Lower it to at most ${Math.floor(pb.maxClientConn / probe.replicas)}` +
        ` or raise ${key("pgbouncer.maxClientConn")} to at least ${probeClients}.`,
    };
  }),
  // Each probe pod opens exactly one Redis connection (app-probe/src/redis.ts).
  rule(["probe.replicas", "redis.maxClients"], ({ probe, redis }) =>
    probe.replicas > redis.maxClients
      ? {
          key: key("redis.maxClients"),
          value: redis.maxClients,
          message:
            `Redis would refuse some probe pods: each of the ${key("probe.replicas")} ${probe.replicas} pods opens one Redis connection, more than maxClients ${redis.maxClients}.` +
            ` Raise it to at least ${probe.replicas} or lower ${key("probe.replicas")} to at most ${redis.maxClients}.`,
        }
      : undefined,
  ),
];

/** Reads a field by its dotted path. */
function at(cfg: ParsedStackConfig, path: FieldPath): number {
  const [section, field] = path.split(".") as [SectionName, string];
  return (cfg[section] as unknown as Record<string, number>)[field]!;
}

/** `a` must be below `b` when both are non-zero (0 means "never"). */
function ordered(aPath: FieldPath, bPath: FieldPath, why: string): Rule {
  return rule([aPath, bPath], (cfg) => {
    const a = at(cfg, aPath);
    const b = at(cfg, bPath);
    if (a === 0 || b === 0 || a < b) return undefined;
    return { key: key(aPath), value: formatDuration(a), message: `${aPath} ${formatDuration(a)} must be below ${key(bPath)} ${formatDuration(b)}: ${why}` };
  });
}

const timeoutRules: Rule[] = [
  ordered("postgres.statementTimeout", "pgbouncer.queryTimeout", "otherwise PgBouncer drops the server connection before PostgreSQL cancels the statement cleanly."),
  ordered("postgres.lockTimeout", "postgres.statementTimeout", "otherwise the statement timeout always fires first and lock waits are never reported as such."),
  ordered("pgbouncer.reservePoolTimeout", "pgbouncer.queryWaitTimeout", "otherwise waiting clients are disconnected before the reserve pool can help them."),
  ordered("pgbouncer.serverConnectTimeout", "pgbouncer.queryWaitTimeout", "otherwise a client is disconnected while PgBouncer is still connecting to PostgreSQL for it."),
  ordered(
    "probe.httpKeepAliveTimeout",
    "probe.serverKeepAliveTimeout",
    "a client must close an idle socket before the server does, or a request races the server's close and fails.",
  ),
  rule(["pgbouncer.clientIdleTimeout", "probe.postgresIdleTimeout"], ({ pgbouncer: pb, probe }) => {
    if (pb.clientIdleTimeout === 0 || (probe.postgresIdleTimeout !== 0 && probe.postgresIdleTimeout < pb.clientIdleTimeout)) return undefined;
    return {
      key: key("pgbouncer.clientIdleTimeout"),
      value: formatDuration(pb.clientIdleTimeout),
      message:
        `PgBouncer would close the probe's idle pooled connections (clientIdleTimeout ${formatDuration(pb.clientIdleTimeout)}) before the pool does` +
        ` (${key("probe.postgresIdleTimeout")} ${formatDuration(probe.postgresIdleTimeout)}), and the next query on them fails.` +
        ` Set ${key("pgbouncer.clientIdleTimeout")} to 0s or above ${formatDuration(probe.postgresIdleTimeout)}.`,
    };
  }),
];

const sharedBuffersOf = (pg: Pick<ParsedStackConfig["postgres"], "sharedBuffers" | "memory">) => pg.sharedBuffers ?? Math.floor(pg.memory / 4 / 8192) * 8192;
const redisMaxMemoryOf = (redis: Pick<ParsedStackConfig["redis"], "maxMemory" | "memory">) => redis.maxMemory ?? Math.floor((redis.memory * 3) / 4);

/** Memory actually used for a given parse: explicit values, or their derived defaults. */
export function derivedMemory(cfg: ParsedStackConfig) {
  const pg = cfg.postgres;
  return {
    sharedBuffers: sharedBuffersOf(pg),
    effectiveCacheSize: pg.effectiveCacheSize ?? Math.floor((pg.memory * 3) / 4 / 8192) * 8192,
    redisMaxMemory: redisMaxMemoryOf(cfg.redis),
  };
}

/**
 * What one PgBouncer process needs for its clients: a base plus a share per client connection it may
 * hold (`pgbouncer.maxClientConn`), larger with TLS (each client then also has an OpenSSL connection and
 * its record buffers, up to SSL3_RT_MAX_PACKET_SIZE each way: openssl's ssl3.h). PgBouncer's own figure
 * is 2 kB per plaintext connection (pgbouncer.org/features.html) plus its packet buffer (`pkt_buf`, 4096
 * bytes: pgbouncer.org/config.html) while a connection is active.
 *
 * Measured here, not assumed (PgBouncer 1.18, OpenSSL 3.0, `test/faults/connections.ts`, which
 * `npm run test:faults -- --connections 10000` runs): 10,000 clients held and querying, resident memory
 * 10.1 → 219.5 MiB with TLS (21.4 KiB a client) and 8.5 → 66.4 MiB without (5.9 KiB); 2,000 clients with
 * TLS about 27 KiB each. The figures below sit above every measurement, and test/faults/connections.test.ts
 * fails if a real PgBouncer ever needs more than they allow.
 */
export const PGBOUNCER_MEMORY = {
  baseBytes: 16 * 2 ** 20,
  perClientBytes: { plaintext: 8 * 2 ** 10, tls: 32 * 2 ** 10 },
} as const;

/** The share of PgBouncer's memory the rule counts for one client connection, with TLS or without. */
export const pgbouncerClientBytes = (tls: Pick<ParsedStackConfig["tls"], "enabled">): number =>
  tls.enabled ? PGBOUNCER_MEMORY.perClientBytes.tls : PGBOUNCER_MEMORY.perClientBytes.plaintext;

/** The memory one PgBouncer needs with every one of its `maxClientConn` clients connected. */
export function pgbouncerMemoryNeeded(cfg: { pgbouncer: Pick<ParsedStackConfig["pgbouncer"], "maxClientConn">; tls: Pick<ParsedStackConfig["tls"], "enabled"> }): number {
  return PGBOUNCER_MEMORY.baseBytes + cfg.pgbouncer.maxClientConn * pgbouncerClientBytes(cfg.tls);
}

const memoryRules: Rule[] = [
  rule(["postgres.sharedBuffers", "postgres.memory"], ({ postgres: pg }) =>
    pg.sharedBuffers !== undefined && pg.sharedBuffers > pg.memory * 0.4
      ? {
          key: key("postgres.sharedBuffers"),
          value: formatSize(pg.sharedBuffers),
          message: `sharedBuffers ${formatSize(pg.sharedBuffers)} is above 40% of ${key("postgres.memory")} ${formatSize(pg.memory)}; the rest is needed for connections and the page cache. Set it to at most ${formatSize(Math.floor((pg.memory * 0.4) / 1024) * 1024)}.`,
        }
      : undefined,
  ),
  rule(["postgres.effectiveCacheSize", "postgres.memory"], ({ postgres: pg }) =>
    pg.effectiveCacheSize !== undefined && pg.effectiveCacheSize > pg.memory
      ? {
          key: key("postgres.effectiveCacheSize"),
          value: formatSize(pg.effectiveCacheSize),
          message: `effectiveCacheSize ${formatSize(pg.effectiveCacheSize)} is above ${key("postgres.memory")} ${formatSize(pg.memory)}: the planner would count on cache the container does not have.`,
        }
      : undefined,
  ),
  rule(
    [
      "postgres.memory",
      "postgres.sharedBuffers",
      "postgres.maintenanceWorkMem",
      "postgres.workMem",
      "postgres.headroomConnections",
      ...DEFAULT_POOL_FIELDS,
      "pgbouncer.reservePoolSize",
    ],
    (cfg) => {
      const pg = cfg.postgres;
      // Sized for the steady state, not the rollout's extra pod: it lasts only while an old pod drains,
      // and this is an estimate, unlike max_connections, which refuses logins outright.
      const serverConnections = atRestConnections(cfg) + pg.headroomConnections;
      const sharedBuffers = sharedBuffersOf(pg);
      const need = sharedBuffers + pg.maintenanceWorkMem + serverConnections * pg.workMem;
      if (need <= pg.memory) return undefined;
      return {
        key: key("postgres.memory"),
        value: formatSize(pg.memory),
        message:
          `PostgreSQL needs more memory than its limit: sharedBuffers ${formatSize(sharedBuffers)} + maintenanceWorkMem ${formatSize(pg.maintenanceWorkMem)}` +
          ` + ${serverConnections} connections × workMem ${formatSize(pg.workMem)} = ${formatSize(need)} > memory ${formatSize(pg.memory)}.` +
          ` Raise ${key("postgres.memory")} or lower ${key("postgres.workMem")}.`,
      };
    },
  ),
  rule(["pgbouncer.memory", "pgbouncer.maxClientConn", "tls.enabled"], (cfg) => {
    const { pgbouncer: pb, tls } = cfg;
    const need = pgbouncerMemoryNeeded(cfg);
    if (need <= pb.memory) return undefined;
    const perClient = pgbouncerClientBytes(tls);
    const maxClients = Math.floor((pb.memory - PGBOUNCER_MEMORY.baseBytes) / perClient);
    const needMiB = Math.ceil(need / 2 ** 20) * 2 ** 20;
    return {
      key: key("pgbouncer.memory"),
      value: formatSize(pb.memory),
      message:
        `PgBouncer could be killed for memory with all its clients connected: ${formatSize(PGBOUNCER_MEMORY.baseBytes)} + ${key("pgbouncer.maxClientConn")} ${pb.maxClientConn}` +
        ` × ${formatSize(perClient)} per client${tls.enabled ? " over TLS" : ""} = ${need === needMiB ? "" : "about "}${formatSize(needMiB)} > memory ${formatSize(pb.memory)}.` +
        ` Raise it to at least ${formatSize(needMiB)}${maxClients >= 1 ? ` or lower ${key("pgbouncer.maxClientConn")} to at most ${maxClients}` : ""}.`,
    };
  }),
  rule(["redis.maxMemory", "redis.memory"], ({ redis }) => {
    const maxMemory = redisMaxMemoryOf(redis);
    return maxMemory > redis.memory
      ? {
          key: key("redis.maxMemory"),
          value: formatSize(maxMemory),
          message: `maxMemory ${formatSize(maxMemory)} is above ${key("redis.memory")} ${formatSize(redis.memory)}: the container would be killed before Redis evicts or refuses writes.`,
        }
      : undefined;
  }),
];

const versionRules: Rule[] = PGBOUNCER_VERSION_GATES.map((g) =>
  rule(["pgbouncer.version", `pgbouncer.${g.field}`], ({ pgbouncer: pb }) =>
    pb[g.field] !== undefined && compareVersions(pb.version, g.since) < 0
      ? {
          key: key(`pgbouncer.${g.field}`),
          value: pb[g.field],
          message: `${g.setting} needs PgBouncer ${g.since} or newer, but ${key("pgbouncer.version")} is ${pb.version}. Remove the key or raise the version.`,
        }
      : undefined,
  ),
);

/** Names that would collide in userlist.txt or with what PostgreSQL and PgBouncer reserve. */
const nameRules: Rule[] = [
  rule(["postgres.user"], ({ postgres: { user } }) =>
    user === "postgres" ? { key: key("postgres.user"), value: user, message: "postgres is the superuser; the app needs a role of its own." } : undefined,
  ),
  rule(["postgres.database"], ({ postgres: { database } }) =>
    database === "pgbouncer" ? { key: key("postgres.database"), value: database, message: "pgbouncer is PgBouncer's admin console database; choose another name." } : undefined,
  ),
  rule(["postgres.user", "pgbouncer.adminUser", "pgbouncer.statsUser"], (cfg) => {
    const problems: Problem[] = [];
    const seen = new Map<string, string>([[cfg.postgres.user, "postgres.user"]]);
    for (const [path, name] of [["pgbouncer.adminUser", cfg.pgbouncer.adminUser], ["pgbouncer.statsUser", cfg.pgbouncer.statsUser]] as const) {
      const other = seen.get(name) ?? (name === "postgres" ? "the superuser" : undefined);
      if (other) problems.push({ key: key(path), value: name, message: `the same name as ${other.includes(".") ? key(other) : other}; each user needs its own name and password.` });
      seen.set(name, path);
    }
    return problems;
  }),
];

/**
 * A leaf is replaced once it is within renewBefore of its end, so renewBefore must leave it a working life:
 * at most half its lifetime, or every renewal would be due again before the next check.
 */
const tlsRules: Rule[] = [
  rule(["tls.lifetime", "tls.renewBefore"], ({ tls }) =>
    tls.renewBefore * 2 > tls.lifetime
      ? {
          key: key("tls.renewBefore"),
          value: formatDuration(tls.renewBefore),
          message:
            `renewBefore ${formatDuration(tls.renewBefore)} is more than half of ${key("tls.lifetime")} ${formatDuration(tls.lifetime)}: a new certificate would be due for renewal` +
            ` almost as soon as it is made. Set it to at most ${formatDuration(Math.floor(tls.lifetime / 2))} or raise ${key("tls.lifetime")} to at least ${formatDuration(tls.renewBefore * 2)}.`,
        }
      : undefined,
  ),
  // PgBouncer got TLS (client_tls_* and server_tls_*) in 1.7 (its NEWS.md); the image tags allowed are newer,
  // but a stack file may name any 1.x.
  rule(["tls.enabled", "pgbouncer.version"], ({ tls, pgbouncer }) =>
    tls.enabled && compareVersions(pgbouncer.version, PGBOUNCER_TLS_SINCE) < 0
      ? {
          key: key("pgbouncer.version"),
          value: pgbouncer.version,
          message: `PgBouncer ${pgbouncer.version} has no TLS settings (they came in ${PGBOUNCER_TLS_SINCE}), but ${key("tls.enabled")} is true. Raise the version.`,
        }
      : undefined,
  ),
  rule(["tls.enabled", "tls.clientCertificates"], ({ tls }) =>
    !tls.enabled && tls.clientCertificates
      ? {
          key: key("tls.clientCertificates"),
          value: true,
          message: `client certificates are a TLS feature, but ${key("tls.enabled")} is false. Set ${key("tls.enabled")} to true or this key to false.`,
        }
      : undefined,
  ),
];

/** Every cross-field rule, in the order their problems are reported. */
export const CROSS_FIELD_RULES: readonly Rule[] = [...budgetRules, ...timeoutRules, ...memoryRules, ...versionRules, ...nameRules, ...tlsRules, ...clusterRules];
