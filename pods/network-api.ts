/**
 * The contract between the pod runner's process side (pods/pod.ts, pods/container.ts, ...) and its
 * network side (pods/network.ts). The pod runner is a verification layer, not a product feature: it
 * runs the rendered manifests on this machine in Linux namespaces, as a kubelet, kube-proxy and a
 * NetworkPolicy-enforcing CNI would, so what the manifests say is exercised for real.
 */

/** One ready address of a Service's EndpointSlices with the slice's ports (by Service port name; "" unnamed). */
export interface SliceEndpoint {
  ip: string;
  ports: Record<string, number>;
}

/** A container port as the manifest declares it; Services and NetworkPolicies may name it. */
export interface NamedPort {
  name?: string;
  containerPort: number;
}

/** What the network knows of a pod. */
export interface PodEndpoint {
  name: string;
  /** metadata.namespace of the pod. */
  namespace: string;
  labels: Record<string, string>;
  ports: NamedPort[];
  /** The pod's address on the node's bridge. */
  ip: string;
  /** Path of the pod's network namespace, for `nsenter --net=PATH` / `ip netns exec NAME`. */
  netnsPath: string;
  netnsName: string;
  /** A Service sends new connections only to pods that are ready and not terminating. */
  ready: boolean;
  terminating: boolean;
}

import type { NetworkPolicy, Service } from "./k8s.ts";

export interface PodNetworkApi {
  /** The node's address on the bridge: where kubelet-style tcp/http probes come from. */
  readonly nodeIp: string;
  /** Creates the pod's network namespace, its veth on the bridge and its address; applies current services and policies. */
  addPod(pod: { name: string; namespace: string; labels: Record<string, string>; ports: NamedPort[] }): Promise<PodEndpoint>;
  /** Endpoint changes (ready, terminating) re-sync every pod's Service DNAT maps. */
  setPodState(name: string, state: { ready: boolean; terminating: boolean }): Promise<void>;
  /** Deletes the pod's namespace and veth; its IP is not reused within a run. */
  removePod(name: string): Promise<void>;
  /** ClusterIP Services: each gets a virtual IP; every pod's netns DNATs it to the ready endpoints. */
  setServices(services: Service[], endpoints?: ReadonlyMap<string, SliceEndpoint[]>): Promise<void>;
  /** NetworkPolicies, enforced in each selected pod's netns (no exemption for the node: as strict CNIs do). */
  setPolicies(policies: NetworkPolicy[]): Promise<void>;
  /** /etc/hosts for a pod: localhost, its own name, and every Service name form → the Service's virtual IP. */
  hostsFile(podName: string): string;
  /** Throws unless `ip` is a pod or Service address of this network (traffic never leaves the machine). */
  assertOwnAddress(ip: string): void;
  /** Removes every namespace, veth, bridge and nft table this network made. Idempotent. */
  destroy(): Promise<void>;
}
