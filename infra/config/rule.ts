/**
 * What a cross-field rule is: the fields it reads and the problems it returns. Shared by checks.ts and
 * the rules that live beside their own section (cluster.ts), so neither imports the other.
 */
import type { ParsedStackConfig } from "./schema.ts";

export interface Problem {
  /** Full dotted key, e.g. `pooling:pgbouncer.defaultPoolSize`. */
  key: string;
  value: unknown;
  message: string;
}

export const key = (path: string) => `pooling:${path}`;

export type SectionName = Exclude<keyof ParsedStackConfig, "namespace">;

/** A field of a section in dotted form, e.g. `pgbouncer.defaultPoolSize`. */
export type FieldPath = { [S in SectionName]: `${S}.${keyof ParsedStackConfig[S] & string}` }[SectionName];

/**
 * A cross-field rule. `check` is handed a config holding only the fields in `needs` (the others are
 * absent), so a rule that reads a field it does not declare gets `undefined` and its tests fail.
 */
export interface Rule {
  needs: readonly FieldPath[];
  check(cfg: ParsedStackConfig): Problem[];
}

export const rule = (needs: readonly FieldPath[], check: (cfg: ParsedStackConfig) => Problem | Problem[] | undefined): Rule => ({
  needs,
  check: (cfg) => [check(cfg) ?? []].flat(),
});
