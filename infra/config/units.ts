/**
 * Durations and sizes as people write them in a stack file ("30s", "10m", "4MB", "1Gi").
 * Parsed once here into plain numbers; every renderer formats them for its own file.
 */

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 } as const;

// PostgreSQL's own size units are binary (kB = 1024 bytes), so MB and Mi mean the same here.
const SIZE_UNITS_BYTES = {
  B: 1,
  kB: 1024,
  KB: 1024,
  Ki: 1024,
  MB: 1024 ** 2,
  Mi: 1024 ** 2,
  GB: 1024 ** 3,
  Gi: 1024 ** 3,
  TB: 1024 ** 4,
  Ti: 1024 ** 4,
} as const;

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|min|m|h|d)$/;
const SIZE_RE = /^(\d+)(B|kB|KB|Ki|MB|Mi|GB|Gi|TB|Ti)$/;

export const DURATION_HINT = 'a number with a unit: "500ms", "30s", "10m", "1h", "0s"';
export const SIZE_HINT = 'a whole number with a unit: "512kB", "4MB", "256Mi", "1Gi"';

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * DURATION_UNITS_MS[m[2] as keyof typeof DURATION_UNITS_MS];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Bytes, or undefined when the text is not a size. */
export function parseSize(text: string): number | undefined {
  const m = SIZE_RE.exec(text.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * SIZE_UNITS_BYTES[m[2] as keyof typeof SIZE_UNITS_BYTES];
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** The shortest exact form of a duration, for messages and docs ("90s" → "90s", 3600000 → "1h"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** The shortest exact binary form of a size ("1Gi", "256Mi", "4Ki", "17B"). */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [["Gi", 1024 ** 3], ["Mi", 1024 ** 2], ["Ki", 1024]] as const) {
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
