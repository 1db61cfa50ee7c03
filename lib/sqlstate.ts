/**
 * Reading a failed database call (node-postgres against PostgreSQL or PgBouncer, a Node socket, undici)
 * the same way everywhere: the SQLSTATE code first, then, where the code does not tell (PgBouncer's own
 * errors, errors with no code), the message. Codes and condition names: PostgreSQL's errcodes.txt
 * (Appendix A of its manual). PgBouncer answers every error of its own with SQLSTATE 08P01 unless it
 * names another (src/proto.c, send_pooler_error), so for 08P01 the message says which limit it was.
 *
 * The probe app ships alone in its image and cannot import this file: it keeps a copy of the `kind`
 * reading (app-probe/src/postgres.ts classifyPgError), and test/unit/sqlstate.test.ts ties the two.
 */

/** What an operator does about it: wait for a pool slot, reconnect, or look at the query. */
export type DbErrorKind = "acquire_timeout" | "connection" | "query";

export interface DbErrorReading {
  kind: DbErrorKind;
  /** A stable, short name for counting (too_many_clients, admin_shutdown, econnrefused, ...). */
  reason: string;
}

/** The SQLSTATEs the stack meets, by the name the reports count them under (PostgreSQL's condition name in the comment). */
const SQLSTATE_REASONS: Readonly<Record<string, string>> = {
  "53300": "too_many_clients", // too_many_connections
  "57P01": "admin_shutdown", // admin_shutdown
  "57P02": "crash_shutdown", // crash_shutdown
  "57P03": "cannot_connect_now", // cannot_connect_now
  "57014": "query_canceled", // query_canceled
  "28P01": "auth_failed", // invalid_password
  "28000": "auth_failed", // invalid_authorization_specification
  "08P01": "protocol_violation", // protocol_violation
  "08006": "connection_failure", // connection_failure
};

/** PgBouncer's own limits (all 08P01) and node-postgres' code-less errors, by message. */
const MESSAGE_REASONS: ReadonlyArray<[RegExp, string]> = [
  // node-postgres: "Connection terminated due to connection timeout", or "timeout expired" before the socket connects.
  [/connection timeout|^timeout expired$/i, "connect_timeout"],
  [/no more connections allowed \(max_client_conn\)/i, "pgbouncer_max_client_conn"],
  [/query_wait_timeout/i, "pgbouncer_query_wait_timeout"],
  [/too many clients|max number of clients reached/i, "too_many_clients"],
  [/terminat|socket hang up|closed|not queryable/i, "connection_closed"],
  [/query read timeout|timed out|timeout/i, "timeout"],
];

/** pg-pool: no client was free within connectionTimeoutMillis (pg-pool/index.js). */
const ACQUIRE_TIMEOUT = /timeout exceeded when trying to connect/i;
/** node-postgres reports a dropped or timed-out connection with a message and no code. */
const CODELESS_CONNECTION = /terminat|closed|not queryable|connection|timeout/i;

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Class 08 (connection exception) and 57P (the server is going away): the connection, not the query, failed. */
const connectionClass = (code: string) => code.startsWith("08") || code.startsWith("57P");

const byMessage = (message: string): string | undefined => MESSAGE_REASONS.find(([re]) => re.test(message))?.[1];

export function readDbError(err: unknown): DbErrorReading {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(err);
  if (code === "") {
    if (ACQUIRE_TIMEOUT.test(message)) return { kind: "acquire_timeout", reason: "acquire_timeout" };
    return { kind: CODELESS_CONNECTION.test(message) ? "connection" : "query", reason: byMessage(message) ?? "other" };
  }
  if (code === "08P01") return { kind: "connection", reason: byMessage(message) ?? SQLSTATE_REASONS[code]! };
  if (SQLSTATE.test(code)) return { kind: connectionClass(code) ? "connection" : "query", reason: SQLSTATE_REASONS[code] ?? `sqlstate_${code}` };
  // Node's socket errors (ECONNREFUSED, ECONNRESET, EPIPE, ...) and undici's (UND_ERR_SOCKET, ...).
  if (/^E[A-Z]+$/.test(code)) return { kind: "connection", reason: code.toLowerCase() };
  if (code.startsWith("UND_ERR_")) return { kind: "query", reason: code.slice(8).toLowerCase() };
  return { kind: "query", reason: "other" };
}
