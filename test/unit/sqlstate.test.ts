/**
 * One reading of a failed database call (lib/sqlstate.ts) for the bench and the fault run, and the
 * probe's own copy of its `kind` (it ships alone and cannot import lib/) tied to it here.
 */
import { describe, expect, it } from "vitest";
import { classifyPgError } from "../../app-probe/src/postgres.ts";
import { classifyError } from "../../bench/errors.ts";
import { readDbError } from "../../lib/sqlstate.ts";

const err = (message: string, code?: string) => Object.assign(new Error(message), code === undefined ? {} : { code });

const CASES: Array<[Error, ReturnType<typeof readDbError>]> = [
  [err("timeout exceeded when trying to connect"), { kind: "acquire_timeout", reason: "acquire_timeout" }],
  [err("connect ECONNREFUSED 127.0.0.1:6432", "ECONNREFUSED"), { kind: "connection", reason: "econnrefused" }],
  [err("terminating connection due to administrator command", "57P01"), { kind: "connection", reason: "admin_shutdown" }],
  [err("sorry, too many clients already", "53300"), { kind: "query", reason: "too_many_clients" }],
  [err("no more connections allowed (max_client_conn)", "08P01"), { kind: "connection", reason: "pgbouncer_max_client_conn" }],
  [err("query_wait_timeout", "08P01"), { kind: "connection", reason: "pgbouncer_query_wait_timeout" }],
  [err("server conn crashed?", "08P01"), { kind: "connection", reason: "protocol_violation" }],
  [err("Connection terminated unexpectedly"), { kind: "connection", reason: "connection_closed" }],
  [err("Connection terminated due to connection timeout"), { kind: "connection", reason: "connect_timeout" }],
  [err("Query read timeout"), { kind: "connection", reason: "timeout" }],
  [err('duplicate key value violates unique constraint "t_pkey"', "23505"), { kind: "query", reason: "sqlstate_23505" }],
  [err("canceling statement due to user request", "57014"), { kind: "query", reason: "query_canceled" }],
  [err("other", "UND_ERR_SOCKET"), { kind: "query", reason: "socket" }],
  [err("something else"), { kind: "query", reason: "other" }],
];

describe("readDbError", () => {
  it.each(CASES)("%s", (e, expected) => {
    expect(readDbError(e)).toEqual(expected);
  });

  it("reads the SQLSTATE before the message: a query canceled for running long is not a timeout", () => {
    expect(readDbError(err("canceling statement due to statement timeout", "57014")).reason).toBe("query_canceled");
  });

  it("is what the bench counts failures under", () => {
    for (const [e, { reason }] of CASES) expect(classifyError(e)).toBe(reason);
  });
});

describe("the probe's copy", () => {
  it.each(CASES)("classifies %s as lib/sqlstate.ts does", (e, expected) => {
    expect(classifyPgError(e)).toBe(expected.kind);
  });
});
