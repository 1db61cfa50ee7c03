import { describe, expect, it } from "vitest";
import { noLatestImages } from "../../policy/policies/index.ts";
import { imageTagProblem } from "../../policy/policies/image-tags.ts";
import { messages, podOf, realManifest, realManifests, validate } from "./fakes.ts";

describe("policy images-are-pinned", () => {
  it("passes every rendered manifest", async () => {
    for (const m of realManifests()) expect(messages(await validate(noLatestImages, m)), `${String(m.kind)}`).toEqual([]);
  });

  it("reports a latest tag and a missing tag, naming the container", async () => {
    const d = realManifest("Deployment", "pgbouncer");
    podOf(d).containers[0].image = "edoburu/pgbouncer:latest";
    podOf(d).containers[2].image = "quay.io/prometheuscommunity/pgbouncer-exporter";
    expect(messages(await validate(noLatestImages, d))).toEqual([
      'container "pgbouncer" image "edoburu/pgbouncer:latest" uses the "latest" tag: pin a version tag or a digest (@sha256:…).',
      'container "pgbouncer-exporter" image "quay.io/prometheuscommunity/pgbouncer-exporter" has no tag, so it pulls "latest": pin a version tag or a digest (@sha256:…).',
    ]);
  });

  it("takes a registry port for a port, not a tag", () => {
    expect(imageTagProblem("localhost:5001/pooling-probe")).toMatch(/has no tag/);
    expect(imageTagProblem("localhost:5001/pooling-probe:dev")).toBeUndefined();
  });

  it("accepts a digest, with or without a tag", () => {
    const digest = `@sha256:${"a".repeat(64)}`;
    expect(imageTagProblem(`redis${digest}`)).toBeUndefined();
    expect(imageTagProblem(`redis:latest${digest}`)).toBeUndefined();
  });
});
