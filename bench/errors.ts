/**
 * Sorts a failed request into a few stable kinds, so the report counts "too_many_clients" and
 * "acquire_timeout" rather than message texts. One sample message per kind is kept for the report.
 */

const SQLSTATE_KINDS: Record<string, string> = {
  "53300": "too_many_clients",
  "57P01": "admin_shutdown",
  "57014": "query_canceled",
  "28P01": "auth_failed",
  "08P01": "protocol_violation",
};

/** PgBouncer reports its own limits with SQLSTATE 08P01 and a message; the message decides. */
const MESSAGE_KINDS: ReadonlyArray<[RegExp, string]> = [
  [/timeout exceeded when trying to connect/i, "acquire_timeout"],
  // node-postgres: "Connection terminated due to connection timeout", or "timeout expired" before the socket connects.
  [/connection timeout|^timeout expired$/i, "connect_timeout"],
  [/no more connections allowed \(max_client_conn\)/i, "pgbouncer_max_client_conn"],
  [/query_wait_timeout/i, "pgbouncer_query_wait_timeout"],
  [/too many clients|max number of clients reached/i, "too_many_clients"],
  [/terminated unexpectedly|connection terminated|socket hang up|closed/i, "connection_closed"],
  [/Query read timeout|timed out/i, "timeout"],
];

export function classifyError(err: unknown): string {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(err);
  for (const [re, kind] of MESSAGE_KINDS) if (re.test(message)) return kind;
  if (SQLSTATE_KINDS[code]) return SQLSTATE_KINDS[code];
  if (/^E[A-Z]+$/.test(code)) return code.toLowerCase();
  if (/^UND_ERR_/.test(code)) return code.slice(8).toLowerCase();
  if (/^[0-9A-Z]{5}$/.test(code)) return `sqlstate_${code}`;
  return "other";
}

/** Drops credentials from a message before it is kept. */
export function safeMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\/\/[^@\s/]*@/g, "//***@").slice(0, 200);
}

export class ErrorCounts {
  readonly byKind: Record<string, number> = {};
  readonly samples: Record<string, string> = {};

  add(err: unknown): void {
    const kind = classifyError(err);
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    this.samples[kind] ??= safeMessage(err);
  }

  static total(byKind: Record<string, number>): number {
    return Object.values(byKind).reduce((a, b) => a + b, 0);
  }

  static merge(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
    return into;
  }
}
