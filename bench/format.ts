/** Number formats shared by the report's tables. */
import type { ScenarioPoint } from "./results.ts";

export const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0));
export const pct = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(d)}%`);
export const mb = (kb: number | undefined) => (kb ? (kb / 1024).toFixed(1) : "–");
export const n = (v: number) => v.toLocaleString("en-US");
export const kinds = (p: ScenarioPoint) => (p.errors === 0 ? "0" : `${n(p.errors)} (${Object.entries(p.errorsByKind).map(([k, v]) => `${k} ${n(v)}`).join(", ")})`);
/** µs, whole above 10. */
export const us = (v: number | undefined) => (v === undefined ? "–" : v >= 10 ? v.toFixed(0) : v.toFixed(1));
