import { describe, expect, it } from "vitest";
import { resourcesAndProbes } from "../../policy/policies/index.ts";
import { messages, podOf, realManifest, realManifests, validate } from "./fakes.ts";

describe("policy containers-have-resources-and-probes", () => {
  it("passes every rendered manifest", async () => {
    for (const m of realManifests()) expect(messages(await validate(resourcesAndProbes, m)), `${String(m.kind)}`).toEqual([]);
  });

  it("reports a container without a memory limit or a readiness probe", async () => {
    const d = realManifest("Deployment", "pgbouncer");
    const c = podOf(d).containers[0];
    delete c.resources.limits.memory;
    delete c.readinessProbe;
    expect(messages(await validate(resourcesAndProbes, d))).toEqual([
      'container "pgbouncer" has no resources.limits.memory, readinessProbe: set cpu and memory requests and limits, and liveness and readiness probes.',
    ]);
  });

  it("reports an init container without resources but asks it for no probes", async () => {
    const s = realManifest("StatefulSet", "postgres");
    podOf(s).initContainers = [{ name: "chown", image: "busybox:1.37" }];
    expect(messages(await validate(resourcesAndProbes, s))).toEqual([
      'init container "chown" has no resources.requests.cpu, resources.requests.memory, resources.limits.cpu, resources.limits.memory: set cpu and memory requests and limits.',
    ]);
  });

  it("checks a bare Pod and a CronJob's pod template too", async () => {
    const container = { name: "job", image: "busybox:1.37" };
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [container] } };
    const cron = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c" }, spec: { jobTemplate: { spec: { template: { spec: { containers: [container] } } } } } };
    expect(messages(await validate(resourcesAndProbes, pod))).toHaveLength(1);
    expect(messages(await validate(resourcesAndProbes, cron))).toHaveLength(1);
  });
});
