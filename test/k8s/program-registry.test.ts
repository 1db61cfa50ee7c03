/** infra/index.ts under mocks with `pooling:cluster` naming an existing cluster and a registry to push the probe to. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { devRaw, engineConfig } from "./fixtures.ts";
import { MOCK_DIGEST, named, recorded, setRecordingMocks, settled } from "./pulumi-mocks.ts";

beforeAll(async () => {
  await setRecordingMocks();
  pulumi.runtime.setAllConfig(engineConfig({ ...devRaw(), cluster: { type: "existing", context: "prod", probeRegistry: "registry.example.com:5000/team" } }));
  await import("../../infra/index.ts");
  await settled();
});

describe("the program on an existing cluster with a registry to push the probe image to", () => {
  it("builds the probe image and pushes it to that registry, logging in to its host", () => {
    expect(named("probe-image").inputs).toMatchObject({ imageName: "registry.example.com:5000/team/pooling-probe:dev", registry: { server: "registry.example.com:5000" } });
  });

  it("runs no kind registry: only the probe's image is a Docker resource", () => {
    expect(recorded.filter((r) => r.type.startsWith("docker:")).map((r) => r.name)).toEqual(["probe-image"]);
  });

  it("deploys the probe by the pushed image's digest", () => {
    const spec = named("probe-deployment").inputs.spec as { template: { spec: { containers: Array<{ name: string; image: string }> } } };
    expect(spec.template.spec.containers.map((c) => c.image)).toContain(MOCK_DIGEST);
  });
});
