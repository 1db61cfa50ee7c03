/** The Monitoring component under Pulumi mocks, and the monitoring manifests it registers. */
import { beforeAll, describe, expect, it } from "vitest";
import { monitoringManifests, podMonitor, prometheusRule } from "../../infra/k8s/manifests/index.ts";
import { alertSpecs } from "../../infra/render/index.ts";
import { devConfig } from "./fixtures.ts";
import { byType, named, parentTypeOf, setRecordingMocks, settled } from "./pulumi-mocks.ts";

const withOperator = devConfig({ monitoring: { operator: true, scrapeInterval: "15s" } });

beforeAll(async () => {
  await setRecordingMocks();
  const { Monitoring } = await import("../../infra/k8s/monitoring.ts");
  new Monitoring("monitoring", { config: withOperator });
  new Monitoring("no-operator", { config: devConfig() });
  await settled();
});

describe("the monitoring objects", () => {
  it("are none when the cluster has no prometheus-operator", () => {
    expect(monitoringManifests(devConfig())).toEqual([]);
    expect(byType("kubernetes:monitoring.coreos.com/v1:PodMonitor").filter((r) => r.name.startsWith("no-operator"))).toEqual([]);
  });

  it("register the PrometheusRule the builder makes, under the component", () => {
    const rule = named("monitoring-prometheusrule");
    expect(rule.type).toBe("kubernetes:monitoring.coreos.com/v1:PrometheusRule");
    expect(parentTypeOf("monitoring-prometheusrule")).toBe("pooling:monitoring:Monitoring");
    expect(rule.inputs.spec).toEqual(prometheusRule(withOperator).spec);
  });

  it("carry every alert, with the exporter sidecar's PgBouncer figures", () => {
    const rules = prometheusRule(withOperator).spec.groups[0]!.rules;
    expect(rules.map((r) => r.alert)).toEqual(alertSpecs(withOperator, { pgbouncerFigures: "exporter" }).map((a) => a.alert));
    expect(rules.find((r) => r.alert === "PgBouncerPoolSaturated")!.expr).toContain("pgbouncer_pools_server_active_connections");
  });

  it("scrape each exporter and the probe on its named port at pooling:monitoring.scrapeInterval", () => {
    const monitors = byType("kubernetes:monitoring.coreos.com/v1:PodMonitor");
    expect(monitors.map((m) => m.name).sort()).toEqual(["monitoring-podmonitor-app-probe", "monitoring-podmonitor-pgbouncer", "monitoring-podmonitor-postgres", "monitoring-podmonitor-redis"]);
    const pgbouncer = podMonitor(withOperator, "pgbouncer");
    expect(named("monitoring-podmonitor-pgbouncer").inputs.spec).toEqual(pgbouncer.spec);
    expect(pgbouncer.spec.podMetricsEndpoints).toEqual([{ port: "metrics", path: "/metrics", interval: "15s" }]);
    expect(podMonitor(withOperator, "probe").spec.podMetricsEndpoints[0]!.port).toBe("http");
  });
});
