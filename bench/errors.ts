/**
 * Sorts a failed request into a few stable kinds, so the report counts "too_many_clients" and
 * "acquire_timeout" rather than message texts. One sample message per kind is kept for the report.
 */
import { readDbError } from "../lib/sqlstate.ts";

/** The stable name a failure is counted under (lib/sqlstate.ts: the SQLSTATE first, then the message). */
export const classifyError = (err: unknown): string => readDbError(err).reason;

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
