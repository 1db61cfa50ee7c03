/** infra/index.ts under mocks with `pooling:monitoring.operator` on: the monitoring objects join the stack. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { devRaw, engineConfig } from "./fixtures.ts";
import { parentTypeOf, recorded, setRecordingMocks, settled } from "./pulumi-mocks.ts";

beforeAll(async () => {
  await setRecordingMocks();
  pulumi.runtime.setAllConfig(engineConfig({ ...devRaw(), monitoring: { operator: true } }));
  await import("../../infra/index.ts");
  await settled();
});

describe("the program with prometheus-operator present", () => {
  it("registers the PrometheusRule and a PodMonitor per target under the Monitoring component", () => {
    const monitoring = recorded.filter((r) => r.type.startsWith("kubernetes:monitoring.coreos.com/v1:"));
    expect(monitoring.map((r) => r.type.split(":").at(-1)).sort()).toEqual(["PodMonitor", "PodMonitor", "PodMonitor", "PodMonitor", "PrometheusRule"]);
    for (const r of monitoring) expect(parentTypeOf(r.name)).toBe("pooling:monitoring:Monitoring");
  });
});
