/**
 * The Node and Lease this machine registers, as pure functions. Which fields a kubelet sets at
 * registration and on each status update: pkg/kubelet/kubelet_node_status.go (initialNode) and
 * pkg/kubelet/nodestatus/setters.go (NodeAddress, MachineInfo, ReadyCondition); virtual-kubelet's
 * node/node.go keeps the same split between the Node object and its lease.
 */
import { V1MicroTime, type V1Lease, type V1Node, type V1NodeCondition, type V1NodeStatus } from "@kubernetes/client-node";
import { cpus, totalmem } from "node:os";

/** How many times its CPUs the node offers to requests (see nodeStatus). */
export const CPU_OVERCOMMIT = 4;

export interface NodeFacts {
  name: string;
  /** The node's address on the pod bridge: where probes come from, status.hostIP of its pods. */
  internalIp: string;
  kubeletVersion: string;
  cpus: number;
  memoryBytes: number;
  /** The most pods the agent takes (the pod bridge has .2 to .254). */
  maxPods: number;
}

export function machineFacts(name: string, internalIp: string, kubeletVersion: string): NodeFacts {
  return { name, internalIp, kubeletVersion, cpus: cpus().length, memoryBytes: totalmem(), maxPods: 110 };
}

/** The kubelet's node conditions: Ready from the agent itself, the pressure conditions false (no eviction here). */
export function nodeConditions(now: Date, since: Date): V1NodeCondition[] {
  const c = (type: string, status: string, reason: string, message: string): V1NodeCondition => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: since });
  return [
    c("MemoryPressure", "False", "KubeletHasSufficientMemory", "the node agent does not evict"),
    c("DiskPressure", "False", "KubeletHasNoDiskPressure", "the node agent does not evict"),
    c("PIDPressure", "False", "KubeletHasSufficientPID", "the node agent does not evict"),
    c("Ready", "True", "KubeletReady", "the pooling node agent is posting ready status"),
  ];
}

export function nodeStatus(f: NodeFacts, now: Date, since: Date): V1NodeStatus {
  // Capacity as MachineInfo reads it. Allocatable CPU is CPU_OVERCOMMIT times that: the agent sets no
  // cgroup limits, so requests reserve nothing here, and the stack's requests (PostgreSQL alone asks for a
  // whole core) would not fit a 2-core machine otherwise. kwok's nodes advertise made-up capacity likewise.
  const capacity = { cpu: String(f.cpus), memory: `${Math.floor(f.memoryBytes / 1024)}Ki`, pods: String(f.maxPods), "ephemeral-storage": "10Gi" };
  return {
    capacity,
    allocatable: { ...capacity, cpu: String(f.cpus * CPU_OVERCOMMIT) },
    addresses: [
      { type: "InternalIP", address: f.internalIp },
      { type: "Hostname", address: f.name },
    ],
    conditions: nodeConditions(now, since),
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      architecture: process.arch === "x64" ? "amd64" : process.arch,
      operatingSystem: "linux",
      kernelVersion: "",
      osImage: "pooling node agent (Linux namespaces)",
      containerRuntimeVersion: "pooling://standins",
      kubeletVersion: f.kubeletVersion,
      kubeProxyVersion: "",
      bootID: "",
      machineID: "",
      systemUUID: "",
    },
  };
}

export function nodeObject(f: NodeFacts, now: Date): V1Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: f.name, labels: { "kubernetes.io/hostname": f.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": nodeStatus(f, now, now).nodeInfo!.architecture } },
    spec: {},
    status: nodeStatus(f, now, now),
  };
}

/** The kubelet's lease: 40 s (nodeLeaseDurationSeconds), renewed every quarter of it (pkg/kubelet/nodelease). */
export const LEASE_SECONDS = 40;
export const LEASE_RENEW_MS = (LEASE_SECONDS * 1000) / 4;

export function leaseObject(nodeName: string, nodeUid: string | undefined, now: Date): V1Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: nodeName, namespace: "kube-node-lease", ...(nodeUid ? { ownerReferences: [{ apiVersion: "v1", kind: "Node", name: nodeName, uid: nodeUid }] } : {}) },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime: new V1MicroTime(now.getTime()) },
  };
}
