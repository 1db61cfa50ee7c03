/**
 * A minimal real network for the process side's tests, independent of pods/network.ts: one network
 * namespace per pod with loopback up and a point-to-point veth to the node (node 100.64.N.1/32 on every
 * host-side veth, pod 100.64.N.k/32), so tcp and http probes from the node reach the pod. No Services,
 * no policies: those are recorded only.
 */
import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import type { NetworkPolicy, Service } from "../../pods/k8s.ts";
import type { NamedPort, PodEndpoint, PodNetworkApi } from "../../pods/network-api.ts";

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

export class TestNetwork implements PodNetworkApi {
  readonly nodeIp: string;
  readonly id = randomBytes(2).toString("hex");
  private readonly subnet = randomInt(1, 250);
  private next = 2;
  readonly pods = new Map<string, PodEndpoint & { veth: string }>();
  readonly states: Array<{ name: string; ready: boolean; terminating: boolean }> = [];
  services: Service[] = [];
  policies: NetworkPolicy[] = [];
  destroyed = false;

  constructor() {
    this.nodeIp = `100.64.${this.subnet}.1`;
  }

  async addPod(pod: { name: string; namespace: string; labels: Record<string, string>; ports: NamedPort[] }): Promise<PodEndpoint> {
    const n = this.next++;
    const netnsName = `pt${this.id}-${n}`;
    const veth = `pt${this.id}h${n}`;
    const podIp = `100.64.${this.subnet}.${n}`;
    ip("netns", "add", netnsName);
    ip("-n", netnsName, "link", "set", "lo", "up");
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netnsName);
    ip("addr", "add", `${this.nodeIp}/32`, "dev", veth);
    ip("link", "set", veth, "up");
    ip("route", "add", `${podIp}/32`, "dev", veth, "src", this.nodeIp);
    ip("-n", netnsName, "addr", "add", `${podIp}/32`, "dev", "eth0");
    ip("-n", netnsName, "link", "set", "eth0", "up");
    ip("-n", netnsName, "route", "add", `${this.nodeIp}/32`, "dev", "eth0");
    const ep = { ...pod, ip: podIp, netnsName, netnsPath: `/run/netns/${netnsName}`, ready: false, terminating: false, veth };
    this.pods.set(pod.name, ep);
    return ep;
  }

  async setPodState(name: string, state: { ready: boolean; terminating: boolean }): Promise<void> {
    this.states.push({ name, ...state });
    const p = this.pods.get(name);
    if (p) Object.assign(p, state);
  }

  async removePod(name: string): Promise<void> {
    const p = this.pods.get(name);
    if (!p) return;
    this.pods.delete(name);
    ip("netns", "del", p.netnsName); // the veth pair goes with it
  }

  async setServices(services: Service[]): Promise<void> {
    this.services = services;
  }

  async setPolicies(policies: NetworkPolicy[]): Promise<void> {
    this.policies = policies;
  }

  hostsFile(podName: string): string {
    const p = this.pods.get(podName);
    return `127.0.0.1\tlocalhost\n::1\tlocalhost\n${p ? `${p.ip}\t${podName}\n` : ""}`;
  }

  assertOwnAddress(addr: string): void {
    if (![...this.pods.values()].some((p) => p.ip === addr)) throw new Error(`${addr} is not a pod address of this test network`);
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const name of [...this.pods.keys()]) await this.removePod(name).catch(() => undefined);
  }
}
