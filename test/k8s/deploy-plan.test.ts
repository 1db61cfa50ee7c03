/** What the program picks per target and per `pooling:cluster`: provider args, probe image, kubectl command. */
import { describe, expect, it } from "vitest";
import { deployPlan } from "../../infra/k8s/deploy-plan.ts";
import { renderManifests } from "../../infra/k8s/manifests/index.ts";
import { devConfig } from "./fixtures.ts";

const MUTABLE = { enableConfigMapMutable: true, enableSecretMutable: true };
const EXISTING_PREBUILT = { type: "existing", context: "gke_acme_europe-west1_prod", probeImage: "europe-docker.pkg.dev/acme/apps/pooling-probe:1.4.0" };
const EXISTING_PUSHED = { type: "existing", context: "prod-admin@prod", probeRegistry: "registry.example.com:5000/team" };
const STACK = { kind: "stack" } as const;

describe("deployPlan on the stack's own cluster", () => {
  it("is kind by default: kind's context, the probe built and pushed to kind's local registry, kubectl on that context", () => {
    expect(deployPlan(STACK, devConfig())).toEqual({
      provider: { ...MUTABLE, context: "kind-pooling" },
      probe: { source: "build", imageName: "localhost:5391/pooling-probe:dev", registryServer: "localhost:5391", kindRegistry: true },
      kubectl: "kubectl --context kind-pooling",
    });
  });

  it("pins an existing cluster's context and uses its prebuilt image as is", () => {
    expect(deployPlan(STACK, devConfig({ cluster: EXISTING_PREBUILT }))).toEqual({
      provider: { ...MUTABLE, context: "gke_acme_europe-west1_prod" },
      probe: { source: "image", image: "europe-docker.pkg.dev/acme/apps/pooling-probe:1.4.0" },
      kubectl: "kubectl --context gke_acme_europe-west1_prod",
    });
  });

  it("pushes to the registry an existing cluster names, logging in to its host, and runs no kind registry", () => {
    expect(deployPlan(STACK, devConfig({ cluster: EXISTING_PUSHED }))).toEqual({
      provider: { ...MUTABLE, context: "prod-admin@prod" },
      probe: { source: "build", imageName: "registry.example.com:5000/team/pooling-probe:dev", registryServer: "registry.example.com:5000", kindRegistry: false },
      kubectl: "kubectl --context prod-admin@prod",
    });
  });

  it("takes kind's context from the stack when it names one, and a registry other than kind's is not run by the program", () => {
    const plan = deployPlan(STACK, devConfig({ cluster: { context: "kind-other", probeRegistry: "localhost:5001" } }));
    expect(plan.provider).toEqual({ ...MUTABLE, context: "kind-other" });
    expect(plan.probe).toEqual({ source: "build", imageName: "localhost:5001/pooling-probe:dev", registryServer: "localhost:5001", kindRegistry: false });
  });
});

describe("deployPlan on the project's own targets, which take precedence over pooling:cluster", () => {
  const standIn = { source: "image", image: "localhost:5391/pooling-probe:dev" };

  it.each([["kind by default", {}], ["an existing cluster", EXISTING_PREBUILT]])("points the local cluster at its kubeconfig with the stood-in probe image, whatever the stack says (%s)", (_, cluster) => {
    expect(deployPlan({ kind: "local", kubeconfig: "/k/kubeconfig", versions: {} }, devConfig({ cluster }))).toEqual({
      provider: { ...MUTABLE, kubeconfig: "/k/kubeconfig" },
      probe: standIn,
      kubectl: "kubectl --kubeconfig /k/kubeconfig",
    });
  });

  it.each([["kind by default", {}], ["an existing cluster", EXISTING_PUSHED]])("renders into the folder with the stood-in probe image, whatever the stack says (%s)", (_, cluster) => {
    expect(deployPlan({ kind: "render", dir: "/out" }, devConfig({ cluster }))).toEqual({ provider: { ...MUTABLE, renderYamlToDirectory: "/out" }, probe: standIn, kubectl: "kubectl" });
  });
});

describe("the render CLI's manifests follow pooling:cluster", () => {
  const probeImage = (files: ReturnType<typeof renderManifests>) => {
    const deployment = files.find((m) => m.file === "app-probe/deployment.yaml")!.object as { spec: { template: { spec: { containers: Array<{ name: string; image: string }> } } } };
    return deployment.spec.template.spec.containers.map((c) => c.image);
  };

  it("on kind: the image on kind's registry and kind's local-registry notice", () => {
    const files = renderManifests(devConfig());
    expect(probeImage(files)).toContain("localhost:5391/pooling-probe:dev");
    const notice = files.find((m) => m.file === "kube-public/local-registry-hosting.yaml")!.object as { data: Record<string, string> };
    expect(notice.data["localRegistryHosting.v1"]).toContain('host: "localhost:5391"');
  });

  it("on an existing cluster: the prebuilt image and no kind registry notice", () => {
    const files = renderManifests(devConfig({ cluster: EXISTING_PREBUILT }));
    expect(probeImage(files)).toContain(EXISTING_PREBUILT.probeImage);
    expect(files.map((m) => m.file)).not.toContain("kube-public/local-registry-hosting.yaml");
  });
});
