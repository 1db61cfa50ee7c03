/**
 * A Grafana dashboard users can import, generated from the same alert specs as the rules: one time-series
 * panel per alert, its query the alert's figure and its red threshold the alert's, so a pool-size change
 * moves the line on the graph with the rule. Typed against @grafana/schema (Grafana's own published
 * dashboard types, generated from its schema), so `npm run typecheck` refuses a field Grafana does not have.
 */
import { ThresholdsMode, type Dashboard, type Panel, type Threshold } from "@grafana/schema";
import type { StackConfig } from "../config/index.ts";
import { alertSpecs, plainDescription, type AlertOptions, type AlertSpec } from "./alerts.ts";

const DATASOURCE = { type: "prometheus", uid: "${datasource}" };
const PANEL_WIDTH = 12;
const PANEL_HEIGHT = 8;

/** Green below the alert's boundary, red from it; a down alert is red at 0 and green from 1. */
function steps(a: AlertSpec): Threshold[] {
  if (a.op === "==") return [{ color: "red", value: null }, { color: "green", value: a.threshold + 1 }];
  // Grafana colours a value at or above a step; the rule fires strictly above a `>` threshold.
  const from = a.op === ">" && a.unit === "connections" ? Math.floor(a.threshold) + 1 : a.threshold;
  return [{ color: "green", value: null }, { color: "red", value: from }];
}

const UNITS: Record<AlertSpec["unit"], string> = { connections: "short", seconds: "s", boolean: "bool_on_off" };

function panel(a: AlertSpec, i: number): Panel {
  return {
    id: i + 1,
    type: "timeseries",
    title: a.alert,
    description: `${plainDescription(a)} Fix: ${a.key}.`,
    datasource: DATASOURCE,
    gridPos: { x: (i % 2) * PANEL_WIDTH, y: Math.floor(i / 2) * PANEL_HEIGHT, w: PANEL_WIDTH, h: PANEL_HEIGHT },
    targets: [{ refId: "A", datasource: DATASOURCE, expr: a.figure, legendFormat: a.by.filter((l) => l !== "namespace").map((l) => `{{${l}}}`).join(" ") }],
    fieldConfig: {
      defaults: { unit: UNITS[a.unit], thresholds: { mode: ThresholdsMode.Absolute, steps: steps(a) }, custom: { thresholdsStyle: { mode: "line" } } },
      overrides: [],
    },
    options: {},
  };
}

/** The dashboard for one stack; `figures` says where its Prometheus gets PgBouncer's figures. */
export function grafanaDashboard(cfg: StackConfig, opts: AlertOptions): Dashboard {
  return {
    uid: `pooling-${cfg.stack}`,
    title: `Pooling (${cfg.stack})`,
    description: "Every figure an alert of the stack watches, with the alert's threshold, from the stack config.",
    tags: ["pooling", "pgbouncer", "postgresql", "redis"],
    editable: true,
    schemaVersion: 39,
    time: { from: "now-1h", to: "now" },
    templating: { list: [{ name: "datasource", type: "datasource", label: "Prometheus", query: "prometheus" }] },
    panels: alertSpecs(cfg, opts).map(panel),
  };
}

export function renderGrafanaDashboard(cfg: StackConfig, opts: AlertOptions): string {
  return `${JSON.stringify(grafanaDashboard(cfg, opts), null, 2)}\n`;
}
