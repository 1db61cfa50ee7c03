/** infra/index.ts under mocks with `pooling:cluster` naming an existing cluster and a prebuilt probe image. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type * as Program from "../../infra/index.ts";
import { devRaw, engineConfig } from "./fixtures.ts";
import { named, recorded, setRecordingMocks, settled, valueOf } from "./pulumi-mocks.ts";

const IMAGE = "europe-docker.pkg.dev/acme/apps/pooling-probe:1.4.0";
let program: typeof Program;

beforeAll(async () => {
  await setRecordingMocks();
  pulumi.runtime.setAllConfig(engineConfig({ ...devRaw(), cluster: { type: "existing", context: "gke_acme_europe-west1_prod", probeImage: IMAGE } }));
  program = await import("../../infra/index.ts");
  await settled();
});

describe("the program on an existing cluster with a prebuilt probe image", () => {
  it("pins the Kubernetes provider to the stack's context", () => {
    const providers = recorded.filter((r) => r.type === "pulumi:providers:kubernetes");
    expect(providers.map((p) => p.inputs.context)).toEqual(["gke_acme_europe-west1_prod"]);
  });

  it("builds, pushes and runs nothing of Docker: no registry, no image build", () => {
    expect(recorded.filter((r) => r.type.startsWith("docker:")).map((r) => r.name)).toEqual([]);
    expect(recorded.filter((r) => r.name.startsWith("kind-registry"))).toEqual([]);
  });

  it("deploys the probe with the prebuilt image as is", () => {
    const spec = named("probe-deployment").inputs.spec as { template: { spec: { containers: Array<{ name: string; image: string }> } } };
    expect(spec.template.spec.containers.map((c) => c.image)).toContain(IMAGE);
  });

  it("exports the port-forward command on the stack's context", async () => {
    expect(await valueOf(program.probeUrl)).toMatch(/^kubectl --context gke_acme_europe-west1_prod -n pooling port-forward svc\/app-probe 8080:8080 /);
  });
});
