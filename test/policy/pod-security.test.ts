import { describe, expect, it } from "vitest";
import { podSecurityRestricted } from "../../policy/policies/index.ts";
import { messages, podOf, realManifest, realManifests, validate } from "./fakes.ts";

describe("policy pods-meet-restricted-pod-security-standard", () => {
  it("passes every rendered manifest", async () => {
    for (const m of realManifests()) expect(messages(await validate(podSecurityRestricted, m)), `${String(m.kind)}`).toEqual([]);
  });

  it("reports host namespaces, a hostPath volume and a privileged container", async () => {
    const d = realManifest("Deployment", "pgbouncer");
    const pod = podOf(d);
    pod.hostNetwork = true;
    pod.volumes.push({ name: "docker", hostPath: { path: "/var/run/docker.sock" } });
    pod.containers[0].securityContext.privileged = true;
    expect(messages(await validate(podSecurityRestricted, d))).toEqual([
      "hostNetwork is true: the pod must not share the node's namespaces.",
      'container "pgbouncer": privileged must not be true.',
      'volume "docker" is of type hostPath: only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret are allowed.',
    ]);
  });

  it("reports a container that escalates, may run as root, keeps capabilities and runs unconfined", async () => {
    const s = realManifest("StatefulSet", "redis");
    const pod = podOf(s);
    delete pod.securityContext.runAsNonRoot;
    pod.containers[0].securityContext = { allowPrivilegeEscalation: true, capabilities: { add: ["SYS_ADMIN", "NET_BIND_SERVICE"] }, seccompProfile: { type: "Unconfined" } };
    expect(messages(await validate(podSecurityRestricted, s))).toEqual([
      'container "redis": allowPrivilegeEscalation must be false; runAsNonRoot must be true (here or in the pod\'s securityContext); ' +
        'capabilities.drop must include "ALL"; capabilities.add may hold only NET_BIND_SERVICE, not SYS_ADMIN; seccompProfile.type is "Unconfined", must be RuntimeDefault or Localhost.',
    ]);
  });

  it("accepts runAsNonRoot and seccomp set on the pod only, and NET_BIND_SERVICE added", async () => {
    const d = realManifest("Deployment", "app-probe");
    for (const c of podOf(d).containers) {
      c.securityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } };
    }
    podOf(d).securityContext = { runAsNonRoot: true, seccompProfile: { type: "Localhost", localhostProfile: "profiles/probe.json" } };
    expect(messages(await validate(podSecurityRestricted, d))).toEqual([]);
  });
});
