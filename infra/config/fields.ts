/**
 * Field builders for the stack schema. Each one carries its documentation (description, unit, default)
 * as zod metadata so the config reference (docs/config.md) and Pulumi.yaml's config block are generated from
 * the schema and cannot drift from it.
 */
import { z } from "zod";
import { DURATION_HINT, SIZE_HINT, formatDuration, formatSize, parseDuration, parseSize } from "./units.ts";

export interface FieldDoc {
  description: string;
  /** How the value is written in the stack file: "integer", "duration", "size", "string", ... */
  kind: string;
  /** How the value is derived when the stack file leaves it unset: shown as the default in the docs. */
  derived?: string;
}

/** A value as it appears in a message; never throws, whatever YAML produced (cycles, null prototypes). */
export function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** PostgreSQL's largest timeout (INT_MAX milliseconds, about 24.8 days). */
export const MAX_DURATION_MS = 2_147_483_647;

/**
 * A duration from `range.min` to `range.max` milliseconds (0 to PostgreSQL's largest timeout unless
 * narrowed, e.g. to what the probe accepts for the variable it becomes).
 */
export function duration(def: string, description: string, range: { min?: number; max?: number } = {}) {
  const min = range.min ?? 0;
  const max = range.max ?? MAX_DURATION_MS;
  const bounded = range.min !== undefined || range.max !== undefined;
  return z
    .unknown()
    .transform((v, ctx) => {
      const ms = typeof v === "string" ? parseDuration(v) : undefined;
      if (ms === undefined) {
        const fixable = typeof v === "number" && v >= 0 && parseDuration(`${v}s`) !== undefined;
        const unitless = fixable ? ` (${v} has no unit: write "${v}s")` : "";
        ctx.addIssue({ code: "custom", message: `expected ${DURATION_HINT}, got ${show(v)}${unitless}` });
        return z.NEVER;
      }
      if (bounded && (ms < min || ms > max)) {
        ctx.addIssue({ code: "custom", message: `expected a duration from ${formatDuration(min)} to ${formatDuration(max)}, got ${show(v)}` });
        return z.NEVER;
      }
      // The PostgreSQL cap is for timeouts; a field with its own range (a certificate's lifetime) sets its own.
      if (!bounded && ms > MAX_DURATION_MS) {
        ctx.addIssue({ code: "custom", message: `at most ${MAX_DURATION_MS}ms (about 24 days), the largest timeout PostgreSQL takes; use 0s for "never"` });
        return z.NEVER;
      }
      return ms;
    })
    .prefault(def)
    .meta({ description, kind: bounded ? `duration ${formatDuration(min)}..${formatDuration(max)}` : "duration" } satisfies FieldDoc);
}

/** Parses a size and refuses one below `min` bytes (the smallest the server accepts). */
function sizeAtLeast(min: number) {
  return (v: unknown, ctx: z.core.$RefinementCtx<unknown>): number => {
    const bytes = typeof v === "string" ? parseSize(v) : undefined;
    if (bytes === undefined) {
      ctx.addIssue({ code: "custom", message: `expected ${SIZE_HINT}, got ${show(v)}` });
      return z.NEVER;
    }
    if (bytes < min) {
      ctx.addIssue({ code: "custom", message: `at least ${formatSize(min)}, the smallest the server accepts` });
      return z.NEVER;
    }
    return bytes;
  };
}

export function size(def: string, min: number, description: string) {
  return z.unknown().transform(sizeAtLeast(min)).prefault(def).meta({ description, kind: "size" } satisfies FieldDoc);
}

/** A size with no default: derived from other fields when absent. */
export function optionalSize(min: number, description: string) {
  return z.unknown().transform(sizeAtLeast(min)).optional().meta({ description, kind: "size" } satisfies FieldDoc);
}

export function int(def: number, min: number, max: number, description: string) {
  return z.int().min(min).max(max).default(def).meta({ description, kind: `integer ${min}..${max}` } satisfies FieldDoc);
}

export function optionalInt(min: number, max: number, description: string, derived?: string) {
  return z
    .int()
    .min(min)
    .max(max)
    .optional()
    .meta({ description, kind: `integer ${min}..${max}`, ...(derived === undefined ? {} : { derived }) } satisfies FieldDoc);
}

export function bool(def: boolean, description: string) {
  return z.boolean().default(def).meta({ description, kind: "boolean" } satisfies FieldDoc);
}

export function choice<const T extends readonly [string, ...string[]]>(values: T, def: T[number], description: string) {
  return z.enum(values).default(def as never).meta({ description, kind: values.join(", ") } satisfies FieldDoc);
}

/**
 * A PostgreSQL identifier written without quotes. Anything else (quotes, newlines, "=", ";", spaces) is
 * refused, so no value can add a line to an ini or conf file.
 */
export function identifier(def: string, description: string) {
  return z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, {
      message: "expected a PostgreSQL identifier: lower-case letters, digits and _, starting with a letter or _, at most 63 characters",
    })
    .default(def)
    .meta({ description, kind: "identifier" } satisfies FieldDoc);
}

export function version(def: string, pattern: RegExp, example: string, description: string) {
  return z
    .string({ message: `expected a version string such as "${example}" (quote it in YAML)` })
    .regex(pattern, { message: `expected a version such as "${example}"` })
    .default(def)
    .meta({ description, kind: "version" } satisfies FieldDoc);
}

/** A Kubernetes CPU quantity: "1", "2", "500m", "0.5". */
export function cpu(def: string, description: string) {
  return z
    .union([z.string(), z.number()])
    .transform((v) => String(v))
    .pipe(z.string().regex(/^(\d+m|\d+(\.\d+)?)$/, { message: 'expected a CPU quantity such as "1", "0.5" or "500m"' }))
    .default(def)
    .meta({ description, kind: "cpu" } satisfies FieldDoc);
}

/** A DNS-1123 label, as Kubernetes wants for namespaces. */
export function dnsLabel(def: string, description: string) {
  return z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, {
      message: "expected a DNS label: lower-case letters, digits and -, at most 63 characters",
    })
    .default(def)
    .meta({ description, kind: "dns label" } satisfies FieldDoc);
}

/**
 * A string with no default (absent: derived from other keys, or not used), checked by `problem`, which
 * returns why a value is refused or undefined when it is fine.
 */
export function optionalText(kind: string, description: string, derived: string, problem: (value: string) => string | undefined) {
  return z
    .string({ message: `expected a string (${kind})` })
    .superRefine((v, ctx) => {
      const why = problem(v);
      if (why !== undefined) ctx.addIssue({ code: "custom", message: why });
    })
    .optional()
    .meta({ description, kind, derived } satisfies FieldDoc);
}
