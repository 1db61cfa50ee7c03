/**
 * The node agent's pure parts: a pod's status from the runner's snapshot, the Node's shape, and the
 * volume it provisions for a claim.
 */
import { describe, expect, it } from "vitest";
import { sliceEndpoints } from "../../pods/node/agent.ts";
import type { V1Endpoint, V1EndpointSlice } from "@kubernetes/client-node";
import { claimVolumeName, volumeFor } from "../../pods/node/claims.ts";
import { CPU_OVERCOMMIT, leaseObject, nodeObject, type NodeFacts } from "../../pods/node/node-object.ts";
import { containerState, podPhase, podStatus } from "../../pods/node/pod-status.ts";
import type { ContainerInfo, PodInfo } from "../../pods/pod-info.ts";

const container = (c: Partial<ContainerInfo> = {}): ContainerInfo => ({ name: "main", image: "redis:7.4", init: false, standIn: "Debian Redis", running: true, ready: true, restarts: 0, startedAt: 1_000, ...c });
const info = (p: Partial<PodInfo> = {}): PodInfo => ({
  name: "p",
  namespace: "ns",
  workload: "w",
  kind: "ReplicaSet",
  ip: "198.18.0.2",
  phase: "Running",
  ready: true,
  everReady: true,
  terminating: false,
  restarts: 0,
  containers: [container()],
  graceSeconds: 30,
  startedAt: 0,
  ...p,
});
const status = (p: Partial<PodInfo> = {}) => podStatus({ info: info(p), hostIp: "198.18.0.1", current: [], startTime: new Date(0), now: new Date(5_000) });
const cond = (s: ReturnType<typeof status>, type: string) => s.conditions?.find((c) => c.type === type)?.status;

describe("pod status", () => {
  it("reports a running, ready pod as Running with its IP and every condition True", () => {
    const s = status();
    expect(s.phase).toBe("Running");
    expect(s.podIP).toBe("198.18.0.2");
    expect(["Initialized", "ContainersReady", "Ready"].map((t) => cond(s, t))).toEqual(["True", "True", "True"]);
    expect(s.containerStatuses?.[0]).toMatchObject({ ready: true, restartCount: 0, state: { running: { startedAt: new Date(1_000) } } });
  });

  it("keeps the scheduler's PodScheduled condition and a condition's transition time while it holds", () => {
    const t = new Date(2_000);
    const s = podStatus({ info: info(), hostIp: "h", current: [{ type: "PodScheduled", status: "True" }, { type: "Ready", status: "True", lastTransitionTime: t }], startTime: new Date(0), now: new Date(9_000) });
    expect(s.conditions?.[0]?.type).toBe("PodScheduled");
    expect(s.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime).toBe(t);
  });

  it("reports a crashed container waiting out its back-off as CrashLoopBackOff with the exit code in lastState", () => {
    const { state, lastState } = containerState(container({ running: false, ready: false, restarts: 2, exitCode: 3, finishedAt: 2_000 }), "Running", true);
    expect(state.waiting?.reason).toBe("CrashLoopBackOff");
    expect(lastState.terminated?.exitCode).toBe(3);
  });

  it("reports an image with no stand-in as Waiting ErrImageNeverPull, with the reason", () => {
    const { state } = containerState(container({ standIn: null, reason: "no stand-in for example.com/x", running: false, ready: false }), "Running", true);
    expect(state.waiting).toEqual({ reason: "ErrImageNeverPull", message: "no stand-in for example.com/x" });
  });

  it("reports a missing Secret as CreateContainerConfigError", () => {
    const { state } = containerState(container({ running: false, ready: false, lastError: "CreateContainerConfigError: secret \"s\" not found" }), "Running", true);
    expect(state.waiting).toEqual({ reason: "CreateContainerConfigError", message: 'secret "s" not found' });
  });

  it("ends a terminated pod Succeeded when every container exited 0, else Failed, and never Ready", () => {
    expect(podPhase(info({ phase: "Terminated", containers: [container({ running: false, exitCode: 0 })] }))).toBe("Succeeded");
    const failed = status({ phase: "Terminated", ready: false, containers: [container({ running: false, exitCode: 137 })] });
    expect(failed.phase).toBe("Failed");
    expect(cond(failed, "Ready")).toBe("False");
    expect(failed.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 137, reason: "Error" });
  });

  it("is not Ready while terminating, though its containers still run", () => {
    expect(cond(status({ phase: "Terminating", terminating: true }), "Ready")).toBe("False");
  });

  it("stays Pending, not Initialized, while an init container runs", () => {
    const s = status({ phase: "Pending", ready: false, containers: [container({ name: "init", init: true }), container({ running: false, ready: false, startedAt: undefined })] });
    expect(s.phase).toBe("Pending");
    expect(cond(s, "Initialized")).toBe("False");
    expect(s.containerStatuses?.[0]?.state?.waiting?.reason).toBe("PodInitializing");
  });
});

describe("the Node and its Lease", () => {
  const facts: NodeFacts = { name: "n", internalIp: "198.18.0.1", kubeletVersion: "v1.37.2", cpus: 2, memoryBytes: 4 * 2 ** 30, maxPods: 110 };

  it("registers with its address, this machine's capacity and CPU overcommitted for requests", () => {
    const node = nodeObject(facts, new Date(0));
    expect(node.status?.addresses).toContainEqual({ type: "InternalIP", address: "198.18.0.1" });
    expect(node.status?.capacity).toMatchObject({ cpu: "2", memory: `${4 * 2 ** 20}Ki` });
    expect(node.status?.allocatable?.cpu).toBe(String(2 * CPU_OVERCOMMIT));
    expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("holds its lease in its own name, owned by the Node", () => {
    const lease = leaseObject("n", "uid-1", new Date(0));
    expect(lease.metadata).toMatchObject({ name: "n", namespace: "kube-node-lease", ownerReferences: [{ kind: "Node", uid: "uid-1" }] });
    expect(lease.spec?.holderIdentity).toBe("n");
  });
});

describe("volumes for claims", () => {
  const claim = { metadata: { name: "data-postgres-0", namespace: "pooling", uid: "u1" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } } } };

  it("pre-binds a hostPath volume of the requested size to a pending class-less claim", () => {
    const pv = volumeFor(claim, "node", "/data/pvc/x")!;
    expect(pv.metadata?.name).toBe(claimVolumeName("pooling", "data-postgres-0"));
    expect(pv.spec).toMatchObject({ capacity: { storage: "2Gi" }, storageClassName: "", hostPath: { path: "/data/pvc/x" }, claimRef: { namespace: "pooling", name: "data-postgres-0", uid: "u1" } });
  });

  it("leaves bound claims and claims that name a class alone", () => {
    expect(volumeFor({ ...claim, spec: { ...claim.spec, volumeName: "v" } }, "node", "/x")).toBeUndefined();
    expect(volumeFor({ ...claim, spec: { ...claim.spec, storageClassName: "fast" } }, "node", "/x")).toBeUndefined();
  });
});

describe("Service endpoints from EndpointSlices", () => {
  it("takes the ready addresses of a Service's IPv4 slices with their TCP ports by name, as kube-proxy does", () => {
    const eps = sliceEndpoints([
      {
        addressType: "IPv4",
        metadata: { namespace: "pooling", labels: { "kubernetes.io/service-name": "pgbouncer" } },
        ports: [{ name: "pgbouncer", port: 6432, protocol: "TCP" }, { name: "dns", port: 53, protocol: "UDP" }],
        endpoints: [{ addresses: ["198.18.0.2"], conditions: { ready: true } }, { addresses: ["198.18.0.3"], conditions: { ready: false, terminating: true } }, { addresses: ["198.18.0.4"] }],
      },
      { addressType: "IPv6", metadata: { namespace: "pooling", labels: { "kubernetes.io/service-name": "pgbouncer" } }, endpoints: [{ addresses: ["fd00::1"] }] },
    ]);
    expect(eps.get("pooling/pgbouncer")).toEqual([
      { ip: "198.18.0.2", ports: { pgbouncer: 6432 } },
      { ip: "198.18.0.4", ports: { pgbouncer: 6432 } },
    ]);
  });

  it("falls back to the endpoints still serving while they terminate when none is ready, as kube-proxy does", () => {
    const slice = (endpoints: V1Endpoint[]): V1EndpointSlice => ({ addressType: "IPv4", metadata: { namespace: "pooling", labels: { "kubernetes.io/service-name": "pgbouncer" } }, ports: [{ name: "pgbouncer", port: 6432 }], endpoints });
    const draining = { addresses: ["198.18.0.3"], conditions: { ready: false, serving: true, terminating: true } };
    const stopped = { addresses: ["198.18.0.5"], conditions: { ready: false, serving: false, terminating: true } };
    expect(sliceEndpoints([slice([draining, stopped])]).get("pooling/pgbouncer")).toEqual([{ ip: "198.18.0.3", ports: { pgbouncer: 6432 } }]);
    expect(sliceEndpoints([slice([draining, { addresses: ["198.18.0.2"], conditions: { ready: true } }])]).get("pooling/pgbouncer")).toEqual([{ ip: "198.18.0.2", ports: { pgbouncer: 6432 } }]);
    expect(sliceEndpoints([slice([stopped])]).get("pooling/pgbouncer")).toEqual([]);
  });
});
