import { availableParallelism } from "node:os";
import { describe, expect, test } from "vitest";
import { connectionBudget, formatProblem, type ParseOptions } from "../../infra/config/index.ts";
import {
  derivedDefaultPoolSize,
  derivedMinPoolSize,
  derivedReservePoolSize,
  MIN_DERIVED_POOL_SIZE,
  MIN_POOL_SHARE,
  RESERVE_POOL_SHARE,
  SERVER_CONNECTIONS_PER_CPU,
} from "../../infra/config/pools.ts";
import { renderPgbouncerIni } from "../../infra/render/index.ts";
import { localMachine } from "../../local/machine.ts";
import { accepted, OPTS, problemsOf as problemsOfConfig } from "./parse.ts";

const RUNTIME = { listenAddr: "0.0.0.0", serverHost: "postgres", serverPort: 5432, authFile: "/u", hbaFile: "/h", clientNetworks: ["10.0.0.0/8"], unixSocketDir: "", tls: { ca: "/ca", cert: "/c", key: "/k" } };

/** The rule as the issue states it, written apart from the code under test. */
const expectedPool = (cores: number, replicas: number) => Math.max(MIN_DERIVED_POOL_SIZE, Math.ceil((SERVER_CONNECTIONS_PER_CPU * cores) / replicas));

/** Every problem of a rejected config, as the user reads it. */
const problemsOf = (raw: unknown, opts?: ParseOptions) => problemsOfConfig(raw, opts).map(formatProblem);

describe("defaultPoolSize left unset", () => {
  test.each([
    { cpu: "1", replicas: 2, cores: 1 },
    { cpu: "500m", replicas: 2, cores: 0.5 },
    { cpu: "500m", replicas: 1, cores: 0.5 },
    { cpu: "4", replicas: 3, cores: 4 },
    { cpu: "2.5", replicas: 1, cores: 2.5 },
    { cpu: "16", replicas: 4, cores: 16 },
  ])("with postgres.cpu $cpu and $replicas PgBouncer replicas is max(minimum, ⌈per CPU × cores ÷ replicas⌉)", ({ cpu, replicas, cores }) => {
    const cfg = accepted({ postgres: { cpu }, pgbouncer: { replicas } });
    expect(cfg.pgbouncer.defaultPoolSize).toBe(expectedPool(cores, replicas));
    expect(cfg.derivedPoolSizes).toEqual(["defaultPoolSize", "minPoolSize", "reservePoolSize"]);
  });

  test("a quantity written in millicores derives the same pool as the same quantity in cores", () => {
    for (const replicas of [1, 2, 3, 7]) expect(derivedDefaultPoolSize("1500m", replicas)).toBe(derivedDefaultPoolSize("1.5", replicas));
  });

  test("never goes below the per-replica minimum, however many replicas share the CPUs", () => {
    expect(accepted({ postgres: { cpu: "100m" }, pgbouncer: { replicas: 10 } }).pgbouncer.defaultPoolSize).toBe(MIN_DERIVED_POOL_SIZE);
  });

  test("minPoolSize and reservePoolSize follow it in the seed's proportions, the reserve at least 1", () => {
    for (const cpu of ["250m", "1", "3", "8", "32"]) {
      const pb = accepted({ postgres: { cpu, workMem: "1MB", maxConnections: 1000, memory: "8Gi" } }).pgbouncer;
      expect(pb.minPoolSize).toBe(Math.round(pb.defaultPoolSize * MIN_POOL_SHARE));
      expect(pb.reservePoolSize).toBe(Math.max(1, Math.round(pb.defaultPoolSize * RESERVE_POOL_SHARE)));
    }
    // The seed's own figures come back at its pool size.
    expect([derivedMinPoolSize(25), derivedReservePoolSize(25)]).toEqual([10, 5]);
  });

  test("max_db_connections in the rendered pgbouncer.ini is the derived pool plus the derived reserve", () => {
    const cfg = accepted({ postgres: { cpu: "3" }, pgbouncer: { replicas: 2 } });
    const pool = expectedPool(3, 2);
    const ini = renderPgbouncerIni(cfg, RUNTIME);
    expect(ini).toMatch(new RegExp(`^default_pool_size = ${pool}$`, "m"));
    expect(ini).toMatch(new RegExp(`^max_db_connections = ${pool + derivedReservePoolSize(pool)}$`, "m"));
    expect(connectionBudget(cfg).perReplica).toBe(pool + derivedReservePoolSize(pool));
  });

  test("pgbouncer.ini says in a comment which sizes were derived, their values and how", () => {
    const cfg = accepted({ postgres: { cpu: "1" }, pgbouncer: { replicas: 2 } });
    const pool = expectedPool(1, 2);
    const note = renderPgbouncerIni(cfg, RUNTIME).split("\n")[1];
    expect(note).toBe(
      `;; pool sizes derived (unset in the stack file): defaultPoolSize ${pool} = max(${MIN_DERIVED_POOL_SIZE}, ⌈${SERVER_CONNECTIONS_PER_CPU} × postgres.cpu 1 ÷ pgbouncer.replicas 2⌉);` +
        ` minPoolSize ${derivedMinPoolSize(pool)} = 40% of defaultPoolSize, rounded; reservePoolSize ${derivedReservePoolSize(pool)} = 20% of defaultPoolSize, rounded, at least 1`,
    );
  });
});

describe("an explicit pool size", () => {
  test("wins over the derivation, and the others still follow it", () => {
    const cfg = accepted({ postgres: { cpu: "4" }, pgbouncer: { defaultPoolSize: 30 } });
    expect(cfg.pgbouncer).toMatchObject({ defaultPoolSize: 30, minPoolSize: derivedMinPoolSize(30), reservePoolSize: derivedReservePoolSize(30) });
    expect(cfg.derivedPoolSizes).toEqual(["minPoolSize", "reservePoolSize"]);
  });

  test("set for all three keys leaves nothing derived and no note in pgbouncer.ini", () => {
    const cfg = accepted({ postgres: { cpu: "4" }, pgbouncer: { defaultPoolSize: 25, minPoolSize: 10, reservePoolSize: 5 } });
    expect(cfg.pgbouncer).toMatchObject({ defaultPoolSize: 25, minPoolSize: 10, reservePoolSize: 5 });
    expect(cfg.derivedPoolSizes).toEqual([]);
    expect(renderPgbouncerIni(cfg, RUNTIME)).not.toMatch(/derived/);
  });

  test("minPoolSize above the derived pool is refused, saying how the pool was derived and what to set", () => {
    const pool = expectedPool(1, 2);
    const min = pool + 3;
    expect(problemsOf({ postgres: { cpu: "1" }, pgbouncer: { replicas: 2, minPoolSize: min } })).toEqual([
      `pooling:pgbouncer.minPoolSize = ${min}: minPoolSize ${min} > defaultPoolSize ${pool} (derived: max(${MIN_DERIVED_POOL_SIZE}, ⌈${SERVER_CONNECTIONS_PER_CPU} × postgres.cpu 1 ÷ pgbouncer.replicas 2⌉)):` +
        ` PgBouncer would keep more idle connections than the pool may hold. Set it to at most ${pool}, or set pooling:pgbouncer.defaultPoolSize to at least ${min}.`,
    ]);
  });

  test("minPoolSize above the derived pool is accepted once defaultPoolSize is set to the value the message names", () => {
    const min = expectedPool(1, 2) + 3;
    expect(accepted({ postgres: { cpu: "1" }, pgbouncer: { replicas: 2, minPoolSize: min, defaultPoolSize: min } }).pgbouncer.minPoolSize).toBe(min);
  });
});

describe("the budget and memory rules with derived pools", () => {
  // 64 cores on 2 replicas derive a pool that cannot fit the default maxConnections 200.
  const raw = { postgres: { cpu: "64", workMem: "1MB" }, pgbouncer: { replicas: 2 } };
  const pool = expectedPool(64, 2);
  const reserve = derivedReservePoolSize(pool);

  test("a derived pool over the budget is reported with its value and how it was derived", () => {
    const [problem] = problemsOf(raw);
    expect(problem).toMatch(new RegExp(`^pooling:pgbouncer\\.defaultPoolSize = ${pool}: .* × \\(defaultPoolSize ${pool} \\+ reservePoolSize ${reserve}\\) = ${3 * (pool + reserve)} > `));
    expect(problem).toContain(`defaultPoolSize ${pool} was derived: max(${MIN_DERIVED_POOL_SIZE}, ⌈${SERVER_CONNECTIONS_PER_CPU} × postgres.cpu 64 ÷ pgbouncer.replicas 2⌉)`);
    expect(problem).toContain(`reservePoolSize ${reserve} was derived: 20% of defaultPoolSize, rounded, at least 1`);
  });

  test("the pool size the budget message suggests fits with the reserve it derives, and one more does not", () => {
    const suggested = Number(/lower it to at most (\d+)/.exec(problemsOf(raw)[0]!)?.[1]);
    accepted({ ...raw, pgbouncer: { ...raw.pgbouncer, defaultPoolSize: suggested } });
    expect(problemsOf({ ...raw, pgbouncer: { ...raw.pgbouncer, defaultPoolSize: suggested + 1 } })[0]).toMatch(/^pooling:pgbouncer\.defaultPoolSize = /);
  });

  test("the memory rule counts the derived server connections", () => {
    const cpu = "8";
    const p = expectedPool(8, 2);
    const connections = 2 * (p + derivedReservePoolSize(p)) + 10;
    const problems = problemsOf({ postgres: { cpu, workMem: "64MB", maxConnections: 1000 } });
    expect(problems.find((m) => m.startsWith("pooling:postgres.memory"))).toContain(` + ${connections} connections × workMem 64Mi `);
  });
});

describe("the machine facts the local stack passes", () => {
  test("replace postgres.cpu and pgbouncer.replicas, so the pool follows the machine's cores and its one PgBouncer", () => {
    const cfg = accepted({ postgres: { cpu: "1" }, pgbouncer: { replicas: 2 } }, { ...OPTS, machine: { postgresCores: 6, pgbouncerReplicas: 1 } });
    expect(cfg.postgres.cpu).toBe("6");
    expect(cfg.pgbouncer.replicas).toBe(1);
    expect(cfg.pgbouncer.defaultPoolSize).toBe(expectedPool(6, 1));
  });

  test("do not override an explicit pool size", () => {
    expect(accepted({ pgbouncer: { defaultPoolSize: 7 } }, { ...OPTS, machine: { postgresCores: 6, pgbouncerReplicas: 1 } }).pgbouncer.defaultPoolSize).toBe(7);
  });

  test("are this machine's cores and one PgBouncer process", () => {
    expect(localMachine()).toEqual({ postgresCores: availableParallelism(), pgbouncerReplicas: 1 });
    expect(accepted({}, { ...OPTS, machine: localMachine() }).pgbouncer.defaultPoolSize).toBe(expectedPool(availableParallelism(), 1));
  });
});
