/**
 * The report's charts as plain SVG: throughput and p99 latency against concurrent clients (log scale),
 * one line per scenario, and pgbench's best throughput as dashed reference lines; and for a sweep, the
 * same two against the swept value, one line per client count.
 */
import type { ScenarioName, ScenarioPoint } from "./results.ts";
import type { Points } from "./summary.ts";
import type { SweepResult } from "./sweep.ts";

const SERIES: Array<{ name: ScenarioName; color: string }> = [
  { name: "before", color: "#d62728" },
  { name: "app-pool-direct", color: "#1f77b4" },
  { name: "app-pool-direct-default-max", color: "#9467bd" },
  { name: "stack", color: "#2ca02c" },
];
const REFERENCES: Array<{ name: ScenarioName; color: string }> = [
  { name: "pgbench-direct", color: "#555555" },
  { name: "pgbench-pgbouncer", color: "#ff7f0e" },
];

const W = 460;
const H = 300;
const M = { left: 64, right: 16, top: 36, bottom: 44 };
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const fmt = (v: number) => (v >= 10_000 ? `${Math.round(v / 1000)}k` : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v >= 10 ? String(Math.round(v)) : String(Math.round(v * 10) / 10));

interface Axis {
  min: number;
  max: number;
  log: boolean;
  /** Ticks at these values instead of round ones (the swept values). */
  at?: number[];
}

function scale(a: Axis, from: number, to: number) {
  const f = (v: number) => (a.log ? Math.log10(Math.max(v, a.min)) : v);
  const lo = f(a.min);
  const hi = f(a.max) === lo ? lo + 1 : f(a.max);
  return (v: number) => from + ((f(v) - lo) / (hi - lo)) * (to - from);
}

function ticks(a: Axis): number[] {
  if (a.at) return a.at;
  if (!a.log) {
    const raw = (a.max - a.min) / 5;
    const e = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * e).find((s) => s >= raw) ?? raw;
    return Array.from({ length: Math.floor((a.max - a.min) / step) + 1 }, (_, i) => a.min + i * step);
  }
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(a.min)); e <= Math.ceil(Math.log10(a.max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= a.min && v <= a.max) out.push(v);
    }
  }
  return out;
}

interface Mark {
  color: string;
  label: string;
}

function panel(
  x0: number,
  title: string,
  xs: Axis,
  ys: Axis,
  lines: Array<{ color: string; pts: Array<[number, number]> }>,
  refs: Array<Mark & { y: number }>,
  x: { label: string; marks?: Array<Mark & { x: number }> } = { label: "concurrent clients" },
): string {
  const sx = scale(xs, x0 + M.left, x0 + W - M.right);
  const sy = scale(ys, H - M.bottom, M.top);
  const parts = [`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">${esc(title)}</text>`];
  parts.push(`<rect x="${x0 + M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#999"/>`);
  for (const t of ticks(xs)) {
    parts.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${sx(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  for (const t of ticks(ys)) {
    parts.push(`<line x1="${x0 + M.left}" x2="${x0 + W - M.right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 + M.left - 6}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  parts.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle">${esc(x.label)}</text>`);
  (x.marks ?? []).forEach((m, i) => {
    parts.push(`<line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${M.top}" y2="${H - M.bottom}" stroke="${m.color}" stroke-dasharray="3 3"/>`);
    parts.push(`<text x="${sx(m.x) + 3}" y="${M.top + 12 + i * 12}" fill="${m.color}">${esc(m.label)}</text>`);
  });
  refs.forEach((r, i) => {
    parts.push(`<line x1="${x0 + M.left}" x2="${x0 + W - M.right}" y1="${sy(r.y)}" y2="${sy(r.y)}" stroke="${r.color}" stroke-dasharray="5 4"/>`);
    // Alternate above and below the line so that two close references stay readable.
    parts.push(`<text x="${x0 + W - M.right - 4}" y="${sy(r.y) + (i % 2 === 0 ? -4 : 13)}" text-anchor="end" fill="${r.color}">${esc(r.label)}</text>`);
  });
  for (const l of lines) {
    if (l.pts.length === 0) continue;
    parts.push(`<polyline fill="none" stroke="${l.color}" stroke-width="2" points="${l.pts.map(([a, b]) => `${sx(a).toFixed(1)},${sy(b).toFixed(1)}`).join(" ")}"/>`);
    for (const [a, b] of l.pts) parts.push(`<circle cx="${sx(a).toFixed(1)}" cy="${sy(b).toFixed(1)}" r="3" fill="${l.color}"/>`);
  }
  return parts.join("\n");
}

export function renderChart(points: Points, caption: string): string {
  const series = SERIES.map((s) => ({ ...s, pts: points.of(s.name) })).filter((s) => s.pts.length > 0);
  const refs = REFERENCES.map((r) => ({ ...r, best: points.best(r.name) })).filter((r): r is typeof r & { best: ScenarioPoint } => r.best !== undefined);
  const clients = series.flatMap((s) => s.pts.map((p) => p.clients));
  const xs: Axis = { min: Math.min(...clients, 50), max: Math.max(...clients, 100), log: true };
  const maxTps = Math.max(1, ...series.flatMap((s) => s.pts.map((p) => p.tps)), ...refs.map((r) => r.best.tps));
  const p99s = series.flatMap((s) => s.pts.map((p) => p.p99Ms)).filter((v) => v > 0);
  const tpsPanel = panel(0, "Throughput (transactions/s)", xs, { min: 0, max: maxTps * 1.1, log: false },
    series.map((s) => ({ color: s.color, pts: s.pts.map((p) => [p.clients, p.tps] as [number, number]) })),
    refs.map((r) => ({ color: r.color, y: r.best.tps, label: `${r.name} best (${r.best.clients} clients)` })));
  const p99Panel = panel(W, "p99 latency (ms, log scale)", xs, { min: Math.max(0.1, Math.min(...p99s, 1) / 1.5), max: Math.max(...p99s, 10) * 1.5, log: true },
    series.map((s) => ({ color: s.color, pts: s.pts.filter((p) => p.p99Ms > 0).map((p) => [p.clients, p.p99Ms] as [number, number]) })), []);
  const legend = series.map((s, i) => `<rect x="${M.left + i * 215}" y="${H + 6}" width="12" height="12" fill="${s.color}"/><text x="${M.left + i * 215 + 18}" y="${H + 16}">${esc(s.name)}</text>`);
  return svg([tpsPanel, p99Panel, ...legend], caption);
}

function svg(body: string[], caption: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 44}" viewBox="0 0 ${2 * W} ${H + 44}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...body,
    `<text x="${M.left}" y="${H + 36}" fill="#555">${esc(caption)}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}

const LEVEL_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/** Throughput and p99 against the swept value (log scale), one line per client count; the stack's value and the seed's marked. */
export function renderSweepChart(sweep: SweepResult, caption: string): string {
  const lines = sweep.levels.map((clients, i) => ({
    clients,
    color: LEVEL_COLORS[i % LEVEL_COLORS.length] ?? "#000",
    pts: sweep.points.filter((p) => p.clients === clients).sort((a, b) => a.value - b.value),
  }));
  const all = sweep.points;
  const values = sweep.values.filter((v) => v > 0);
  // A margin either side, so that no point sits on the frame.
  const xs: Axis = { min: Math.min(...values, 1) / 1.25, max: Math.max(...values, 2) * 1.25, log: true, at: values };
  const marks = [
    { x: sweep.currentValue, color: "#2ca02c", label: `stack: ${sweep.currentValue}` },
    ...(sweep.seedValue !== null && sweep.seedValue !== sweep.currentValue ? [{ x: sweep.seedValue, color: "#777777", label: `seed: ${sweep.seedValue}` }] : []),
  ].filter((m) => m.x >= xs.min && m.x <= xs.max);
  const axis = { label: sweep.key.replace(/^pooling:/, ""), marks };
  const p99s = all.map((p) => p.p99Ms).filter((v) => v > 0);
  const tpsPanel = panel(0, "Throughput (transactions/s)", xs, { min: 0, max: Math.max(1, ...all.map((p) => p.tps)) * 1.1, log: false },
    lines.map((l) => ({ color: l.color, pts: l.pts.map((p) => [p.value, p.tps] as [number, number]) })), [], axis);
  const p99Panel = panel(W, "p99 latency (ms, log scale)", xs, { min: Math.max(0.1, Math.min(...p99s, 1) / 1.5), max: Math.max(...p99s, 10) * 1.5, log: true },
    lines.map((l) => ({ color: l.color, pts: l.pts.filter((p) => p.p99Ms > 0).map((p) => [p.value, p.p99Ms] as [number, number]) })), [], axis);
  const legend = lines.map((l, i) => `<rect x="${M.left + i * 160}" y="${H + 6}" width="12" height="12" fill="${l.color}"/><text x="${M.left + i * 160 + 18}" y="${H + 16}">${esc(`${l.clients.toLocaleString("en-US")} clients`)}</text>`);
  return svg([tpsPanel, p99Panel, ...legend], caption);
}
