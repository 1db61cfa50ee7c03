/**
 * The Grafana dashboard: one panel per alert, querying the alert's own figure with the alert's threshold,
 * so the two cannot drift. Its shape is checked by the compiler against @grafana/schema's Dashboard type.
 */
import { describe, expect, it } from "vitest";
import type { Panel } from "@grafana/schema";
import { alertSpecs, grafanaDashboard, renderGrafanaDashboard } from "../../infra/render/index.ts";
import { devConfig } from "../k8s/fixtures.ts";

const dev = devConfig();
const bigger = devConfig({ pgbouncer: { defaultPoolSize: 40, maxClientConn: 3000 }, postgres: { maxConnections: 400 } });
const panels = (cfg: typeof dev) => grafanaDashboard(cfg, { pgbouncerFigures: "exporter" }).panels as Panel[];
const red = (p: Panel) => p.fieldConfig?.defaults?.thresholds?.steps.find((s) => s.color === "red")?.value;

describe("the Grafana dashboard", () => {
  it("has one panel per alert, each querying the alert's figure", () => {
    const specs = alertSpecs(dev, { pgbouncerFigures: "exporter" });
    expect(panels(dev).map((p) => [p.title, (p.targets?.[0] as { expr: string }).expr])).toEqual(specs.map((a) => [a.alert, a.figure]));
  });

  it("draws each threshold where the rule fires, from the config", () => {
    const saturated = (cfg: typeof dev) => red(panels(cfg).find((p) => p.title === "PgBouncerPoolSaturated")!);
    expect(saturated(dev)).toBe(dev.pgbouncer.defaultPoolSize);
    expect(saturated(bigger)).toBe(40);
    // 0.8 × 3000 = 2400: the alert fires at 2401 client connections.
    expect(red(panels(bigger).find((p) => p.title === "PgBouncerClientConnectionsHigh")!)).toBe(2401);
  });

  it("is JSON a Grafana import takes: a uid, a datasource variable, no panel overlapping another", () => {
    const d = JSON.parse(renderGrafanaDashboard(dev, { pgbouncerFigures: "exporter" })) as { uid: string; templating: { list: Array<{ type: string }> }; panels: Panel[] };
    expect(d.uid).toBe("pooling-dev");
    expect(d.templating.list.map((v) => v.type)).toEqual(["datasource"]);
    const cells = d.panels.map((p) => `${p.gridPos!.x},${p.gridPos!.y}`);
    expect(new Set(cells).size).toBe(cells.length);
  });
});
