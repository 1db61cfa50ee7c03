/** `pooling:cluster`: which cluster the stack deploys to and where the probe image comes from, as validated. */
import { describe, expect, test } from "vitest";
import { formatProblem } from "../../infra/config/index.ts";
import { configKeys } from "../../infra/config/docs.ts";
import { imageReferenceProblem, registryProblem } from "../../infra/config/cluster.ts";
import { KIND, registryHost } from "../../infra/k8s/kind.ts";
import { accepted, problemsOf } from "./parse.ts";

const messages = (raw: unknown) => problemsOf(raw).map(formatProblem);

describe("pooling:cluster as accepted", () => {
  test("is kind, with kind's context and registry left to the kind target, when the stack file says nothing", () => {
    expect(accepted({}).cluster).toEqual({ type: "kind", context: undefined, probe: { registry: undefined } });
  });

  test("is an existing cluster with its context and a prebuilt image", () => {
    const cluster = { type: "existing", context: "gke_acme_europe-west1_prod", probeImage: "europe-docker.pkg.dev/acme/apps/pooling-probe:1.4.0" };
    expect(accepted({ cluster }).cluster).toEqual({ type: "existing", context: cluster.context, probe: { image: cluster.probeImage } });
  });

  test("is an existing cluster whose probe image is built and pushed to the registry it names", () => {
    const cluster = { type: "existing", context: "arn:aws:eks:eu-west-1:123456789012:cluster/prod", probeRegistry: "registry.example.com:5000/team" };
    expect(accepted({ cluster }).cluster).toEqual({ type: "existing", context: cluster.context, probe: { registry: "registry.example.com:5000/team" } });
  });

  test("keeps kind with a context and a registry of its own", () => {
    expect(accepted({ cluster: { context: "kind-other", probeRegistry: "localhost:5001" } }).cluster).toEqual({ type: "kind", context: "kind-other", probe: { registry: "localhost:5001" } });
  });
});

describe("pooling:cluster refusals, each named by its key", () => {
  test("an existing cluster with no context and no image source gets both problems at once", () => {
    expect(messages({ cluster: { type: "existing" } })).toEqual([
      "pooling:cluster.context: pooling:cluster.type is existing, which is reached through a kubeconfig context: set this to one `kubectl config get-contexts` lists.",
      "pooling:cluster.probeImage: an existing cluster cannot pull from kind's local registry: set this to a prebuilt probe image, or pooling:cluster.probeRegistry to a registry its nodes pull from.",
    ]);
  });

  test("a prebuilt image and a registry to push to, both set", () => {
    expect(messages({ cluster: { probeImage: "ghcr.io/acme/pooling-probe:1.4.0", probeRegistry: "ghcr.io/acme" } })).toEqual([
      'pooling:cluster.probeImage = "ghcr.io/acme/pooling-probe:1.4.0": a prebuilt image is used as is, but pooling:cluster.probeRegistry (ghcr.io/acme) asks for one to be built and pushed: remove one of the two.',
    ]);
  });

  test("a cluster type it does not know", () => {
    expect(messages({ cluster: { type: "eks" } })).toEqual(['pooling:cluster.type = "eks": Invalid option: expected one of "kind"|"existing"']);
  });

  test("a malformed image reference, with the form it expects", () => {
    expect(messages({ cluster: { type: "existing", context: "prod", probeImage: "ghcr.io/Acme/probe:1.0" } })).toEqual([
      'pooling:cluster.probeImage = "ghcr.io/Acme/probe:1.0": not an image reference: expected [host[:port]/]path[:tag][@digest] with a lower-case path, as in "registry.example.com/team/pooling-probe:1.4.0"',
    ]);
  });

  test("a context that would break the kubectl command the stack outputs", () => {
    expect(messages({ cluster: { type: "existing", context: "prod; rm -rf ~", probeImage: "ghcr.io/acme/probe:1.0" } })).toEqual([
      'pooling:cluster.context = "prod; rm -rf ~": expected a kubeconfig context name: letters, digits and . _ : @ / + -, starting with a letter or digit, at most 253 characters',
    ]);
  });

  test("a registry that is not a string", () => {
    expect(messages({ cluster: { probeRegistry: 5000 } })).toEqual(["pooling:cluster.probeRegistry = 5000: expected a string (registry)"]);
  });

  test("a key the section does not have", () => {
    expect(problemsOf({ cluster: { kubeconfig: "/somewhere" } }).map((p) => p.key)).toEqual(["pooling:cluster.kubeconfig"]);
  });
});

describe("image references (distribution/reference's grammar)", () => {
  test.each([
    "ghcr.io/acme/pooling-probe:1.4.0",
    "registry.example.com:5000/team/sub/pooling-probe:v1_2.3-rc1",
    "localhost:5391/pooling-probe:dev",
    "acme/pooling-probe:1.4.0",
    "[::1]:5000/pooling-probe:1",
    `ghcr.io/acme/pooling-probe@sha256:${"a".repeat(64)}`,
    `ghcr.io/acme/pooling-probe:latest@sha256:${"0".repeat(64)}`,
    "ghcr.io/acme/a__b.c--d:1",
  ])("accepts %s", (image) => {
    expect(imageReferenceProblem(image)).toBeUndefined();
  });

  test.each([
    ["ghcr.io/acme/pooling-probe", /has no tag/],
    ["ghcr.io/acme/pooling-probe:latest", /"latest" tag/],
    ["ghcr.io/acme/pooling-probe:", /not an image reference/],
    ["ghcr.io/acme/pooling-probe:1.0 ", /not an image reference/],
    ["ghcr.io/acme//pooling-probe:1.0", /not an image reference/],
    ["ghcr.io/acme/-probe:1.0", /not an image reference/],
    [`ghcr.io/acme/pooling-probe:${"x".repeat(129)}`, /not an image reference/],
    ["ghcr.io/acme/pooling-probe@sha256:abc", /not an image reference/],
    ["https://ghcr.io/acme/pooling-probe:1.0", /not an image reference/],
    [`ghcr.io/${"a".repeat(250)}:1.0`, /at most 255/],
  ])("refuses %s", (image, why) => {
    expect(imageReferenceProblem(image)).toMatch(why);
  });
});

describe("registries", () => {
  test.each(["registry.example.com", "registry.example.com:5000/team/sub", "localhost:5391", "localhost/team", "10.0.0.7:5000", "docker.io/acme"])("accepts %s", (registry) => {
    expect(registryProblem(registry)).toBeUndefined();
  });

  test("refuses a first part Docker would read as a Docker Hub user, and says how to name Docker Hub", () => {
    expect(registryProblem("acme")).toBe('"acme" would be read as a Docker Hub user, not a registry host: name the host, such as registry.example.com/team, or docker.io/<user> for Docker Hub');
  });

  test.each(["registry.example.com/", "https://registry.example.com", "registry.example.com/Team", "registry.example.com/team:1.0", ""])("refuses %j", (registry) => {
    expect(registryProblem(registry)).toMatch(/^not a registry/);
  });
});

describe("the config reference for pooling:cluster", () => {
  const doc = (key: string) => configKeys().find((k) => k.key === key)!;

  test("quotes kind's context and registry as infra/k8s/kind.ts has them", () => {
    expect(doc("cluster.context").default).toContain(KIND.context);
    expect(doc("cluster.probeRegistry").default).toContain(registryHost());
  });

  test("defaults the cluster type to kind", () => {
    expect(doc("cluster.type").default).toBe("kind");
  });
});
