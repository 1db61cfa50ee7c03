/** Every manifest `pulumi up` would apply, checked against the Kubernetes OpenAPI schema. */
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { monitoringManifests, pgbouncerDeployment, prometheusRule, renderManifests } from "../../infra/k8s/manifests/index.ts";
import { devConfig } from "./fixtures.ts";
import { unknownFieldProblems } from "./known-fields.ts";
import { openApiProblems } from "./openapi.ts";

const variants = {
  dev: devConfig(),
  "one PgBouncer replica, PgBouncer 1.22": devConfig({ pgbouncer: { replicas: 1, version: "1.22" } }),
  "other namespace and ports": devConfig({ namespace: "pool-test", postgres: { port: 5433 }, pgbouncer: { port: 6433 }, redis: { port: 6380 } }),
  "prometheus-operator present": devConfig({ monitoring: { operator: true } }),
};

describe("the Kubernetes OpenAPI schema", () => {
  for (const [variant, cfg] of Object.entries(variants)) {
    it(`accepts every rendered manifest (${variant})`, () => {
      const manifests = renderManifests(cfg);
      expect(manifests.length).toBeGreaterThan(15);
      // Through YAML and back, as the render CLI writes them and kubectl would read them.
      for (const m of manifests) expect(openApiProblems(parse(stringify(m.object)) as Record<string, unknown>), m.file).toEqual([]);
    });
  }

  it("rejects a Deployment with a wrongly typed field (the validator bites)", () => {
    const broken = structuredClone(pgbouncerDeployment(devConfig())) as unknown as { spec: { replicas: unknown; template: { spec: { containers: Array<{ ports: Array<{ containerPort: unknown }> }> } } } };
    broken.spec.replicas = "two";
    broken.spec.template.spec.containers[0]!.ports[0]!.containerPort = "6432";
    expect(openApiProblems(broken as unknown as Record<string, unknown>)).toEqual(["/spec/replicas: must be integer", "/spec/template/spec/containers/0/ports/0/containerPort: must be integer"]);
  });

  it("rejects a Deployment missing a required field", () => {
    const broken = structuredClone(pgbouncerDeployment(devConfig())) as unknown as { spec: Record<string, unknown> };
    delete broken.spec.selector;
    expect(openApiProblems(broken as unknown as Record<string, unknown>)).toEqual(["/spec: must have required property selector"]);
  });

  it("rejects a value outside an enum", () => {
    const broken = structuredClone(pgbouncerDeployment(devConfig())) as unknown as { spec: { strategy: { type: string } } };
    broken.spec.strategy.type = "Sometimes";
    expect(openApiProblems(broken as unknown as Record<string, unknown>).join("\n")).toMatch(/strategy\/type/);
  });

  it("rejects a PrometheusRule whose `for` is not a Prometheus duration (the CRD schema's pattern)", () => {
    const broken = structuredClone(prometheusRule(devConfig({ monitoring: { operator: true } })));
    broken.spec.groups[0]!.rules[0]!.for = "two minutes";
    expect(openApiProblems(broken as unknown as Record<string, unknown>).join("\n")).toMatch(/\/spec\/groups\/0\/rules\/0\/for: must match pattern/);
  });

  it("refuses a kind it has no schema for instead of passing it", () => {
    expect(openApiProblems({ apiVersion: "v1", kind: "Pod" })).toEqual(["no schema for v1/Pod: add its model to test/k8s/openapi.ts"]);
  });
});

describe("the OpenAPI field names", () => {
  it("know every field of every rendered manifest", () => {
    expect(unknownFieldProblems(renderManifests(devConfig()))).toEqual([]);
  });

  it("know every field of the prometheus-operator objects", () => {
    expect(unknownFieldProblems(monitoringManifests(devConfig({ monitoring: { operator: true } })))).toEqual([]);
  });

  it("catch a misspelt field the schema validators let through", () => {
    const broken = structuredClone(pgbouncerDeployment(devConfig())) as unknown as { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } };
    const c = broken.spec.template.spec.containers[0]!;
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
    const object = broken as unknown as Record<string, unknown>;
    expect(openApiProblems(object)).toEqual([]);
    expect(unknownFieldProblems([{ file: "pgbouncer/deployment.yaml", object }]).join("\n")).toMatch(/^pgbouncer\/deployment\.yaml: .*readinesProbe.* does not exist in type 'IContainer'/);
  });
});
