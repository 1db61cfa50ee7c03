/**
 * The pod runner's network: a bridge in the root netns with the node address, one netns + veth per pod,
 * and in every pod's netns two nft tables, standing in for kube-proxy (Service VIPs, DNAT to ready
 * endpoints) and a NetworkPolicy-enforcing CNI (ingress filter). The rules are rendered by the pure
 * functions of net-services.ts and net-policy.ts; this class owns the objects, their names, their
 * addresses, and the order in which they change.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { NetworkPolicy, Service } from "./k8s.ts";
import type { NamedPort, PodEndpoint, PodNetworkApi, SliceEndpoint } from "./network-api.ts";
import {
  AddressesExhaustedError,
  DuplicatePodError,
  ForeignAddressError,
  InvalidNameError,
  InvalidRunIdError,
  NetworkDestroyedError,
  NotRootError,
  RulesetApplyError,
  RunIdInUseError,
  UnknownPodError,
} from "./net-errors.ts";
import { createBridge, hostAddress, reportRootNetfilter } from "./net-bridge.ts";
import { run } from "./net-exec.ts";
import { renderHostsFile } from "./net-host.ts";
import { policyNotes, renderPolicyTable } from "./net-policy.ts";
import { DROP_COUNTER, POLICY_TABLE, renderPodRuleset } from "./net-rules.ts";
import { parseService, renderNodeServiceTable, renderServiceTable, type ClusterIpService } from "./net-services.ts";
import { removeObjects, removeObjectsSync, removeState, removeStateSync, statePath, sweepStaleRuns, writeState, type RunState } from "./net-state.ts";

export * from "./net-errors.ts";

type Log = (msg: string) => void;

const RUN_ID = /^[a-z0-9]{1,6}$/;
/** Pod and namespace names end up in /etc/hosts lines and netns names: RFC 1123 subdomains only. */
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** .1 is the node; pods get .2 to .254 in order and a removed pod's address is not handed out again. */
const FIRST_POD_HOST = 2;
const LAST_HOST = 254;

interface AppliedRuleset {
  /** The tables' text: an unchanged pod is not re-programmed. */
  fingerprint: string;
  serviceChains: string[];
}

function netnsLabel(podName: string): string {
  return podName.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 30).replace(/-+$/, "");
}

/** Networks not destroyed yet: removed (synchronously, best effort) when the process exits. */
const liveNetworks = new Set<PodNetwork>();
let exitHookInstalled = false;

function removeLiveNetworksSync(): void {
  for (const net of liveNetworks) net.removeAllSync();
}

export class PodNetwork implements PodNetworkApi {
  readonly nodeIp: string;
  private readonly pods = new Map<string, PodEndpoint>();
  private services = new Map<string, ClusterIpService>();
  private policies: NetworkPolicy[] = [];
  private readonly applied = new Map<string, AppliedRuleset>();
  private readonly noted = new Set<string>();
  private nextPodHost = FIRST_POD_HOST;
  private nextServiceHost = 1;
  /** The node table's last text: unchanged, it is not re-applied. */
  private nodeApplied = "";
  /** Every change runs alone, in call order: a sync never sees half an addPod. */
  private queue: Promise<unknown> = Promise.resolve();
  private destroying: Promise<void> | undefined;

  private constructor(
    private readonly state: RunState,
    private readonly log: Log,
    /** Services keep the clusterIP the API server gave them (the node agent's network). */
    private readonly apiClusterIps = false,
  ) {
    this.nodeIp = hostAddress(state.podCidr, 1);
    if (!exitHookInstalled) {
      process.on("exit", removeLiveNetworksSync);
      exitHookInstalled = true;
    }
    liveNetworks.add(this);
  }

  get runId(): string {
    return this.state.runId;
  }

  get bridge(): string {
    return this.state.bridge;
  }

  get podCidr(): string {
    return this.state.podCidr;
  }

  get serviceCidr(): string {
    return this.state.serviceCidr;
  }

  /** Creates the bridge with the node address on the first free 198.18.N.0/24 (Services: 198.19.N.0/24). */
  /**
   * `serviceCidr`: the API server's Service range; each Service then keeps its own spec.clusterIP as its
   * virtual IP. `nodeServices`: the Services are programmed for the node's own processes too (a table in
   * the root netns, as kube-proxy does), so the host reaches them.
   */
  static async create(opts: { runId?: string; log?: Log; serviceCidr?: string; nodeServices?: boolean } = {}): Promise<PodNetwork> {
    if (process.getuid?.() !== 0) throw new NotRootError();
    const log = opts.log ?? (() => undefined);
    const runId = opts.runId ?? randomBytes(3).toString("hex");
    if (!RUN_ID.test(runId)) throw new InvalidRunIdError(runId);
    const bridge = `plpod${runId}`;
    if (existsSync(statePath(runId)) || existsSync(`/sys/class/net/${bridge}`)) throw new RunIdInUseError(runId);
    await reportRootNetfilter(log);

    const state = await createBridge(runId, log, { serviceRoute: opts.nodeServices ? opts.serviceCidr : undefined });
    if (opts.serviceCidr) state.serviceCidr = opts.serviceCidr;
    if (opts.nodeServices) state.nodeTable = `plnode${runId}`;
    await writeState(state); // listed before it exists, so a crash still leaves the node table to sweepStale
    log(`pod network ${runId}: bridge ${bridge}, node ${hostAddress(state.podCidr, 1)}, pods ${state.podCidr}, Services ${state.serviceCidr}`);
    return new PodNetwork(state, log, opts.serviceCidr !== undefined);
  }

  /** Removes what runs whose process died left behind (namespaces, veths, bridges; the nft tables live in the namespaces). */
  static async sweepStale(log?: Log): Promise<string[]> {
    return sweepStaleRuns(log ?? (() => undefined));
  }

  async addPod(pod: { name: string; namespace: string; labels: Record<string, string>; ports: NamedPort[] }): Promise<PodEndpoint> {
    return this.exclusive(async () => {
      for (const name of [pod.name, pod.namespace]) if (!DNS_NAME.test(name)) throw new InvalidNameError(name);
      if (this.pods.has(pod.name)) throw new DuplicatePodError(pod.name);
      if (this.nextPodHost > LAST_HOST) throw new AddressesExhaustedError("pod", this.state.podCidr);
      const host = this.nextPodHost++;
      const netnsName = `plpod-${this.runId}-${host}-${netnsLabel(pod.name)}`.replace(/-$/, "");
      const veth = this.vethOf({ ip: hostAddress(this.state.podCidr, host) });
      const endpoint: PodEndpoint = {
        name: pod.name,
        namespace: pod.namespace,
        labels: { ...pod.labels },
        ports: pod.ports.map((p) => ({ ...p })),
        ip: hostAddress(this.state.podCidr, host),
        netnsPath: `/run/netns/${netnsName}`,
        netnsName,
        ready: false,
        terminating: false,
      };
      // Listed before made, so a crash in between still leaves them to sweepStale.
      this.state.netns.push(netnsName);
      this.state.links.push(veth);
      await writeState(this.state);
      try {
        await run("ip", ["netns", "add", netnsName]);
        await run("ip", ["link", "add", "name", veth, "type", "veth", "peer", "name", "eth0", "netns", netnsName]);
        await run("ip", ["link", "set", "dev", veth, "master", this.bridge, "up"]);
        const batch = ["link set dev lo up", `addr add ${endpoint.ip}/24 dev eth0`, "link set dev eth0 up", `route add default via ${this.nodeIp}`];
        await run("ip", ["-n", netnsName, "-batch", "-"], { input: batch.join("\n") + "\n" });
        this.pods.set(pod.name, endpoint);
        await this.sync();
      } catch (err) {
        this.pods.delete(pod.name);
        this.applied.delete(pod.name);
        await this.forget(netnsName, veth);
        await this.sync().catch((e: Error) => this.log(`pod network: re-sync after failed addPod ${pod.name}: ${e.message}`));
        throw err;
      }
      return this.view(endpoint);
    });
  }

  async setPodState(name: string, state: { ready: boolean; terminating: boolean }): Promise<void> {
    return this.exclusive(async () => {
      const pod = this.pods.get(name);
      if (!pod) throw new UnknownPodError(name);
      pod.ready = state.ready;
      pod.terminating = state.terminating;
      await this.sync();
    });
  }

  async removePod(name: string): Promise<void> {
    return this.exclusive(async () => {
      const pod = this.pods.get(name);
      if (!pod) throw new UnknownPodError(name);
      // Endpoints and allowed sources go first, as when kube-proxy and the CNI see the pod deleted.
      this.pods.delete(name);
      this.applied.delete(name);
      try {
        await this.sync();
      } finally {
        await this.forget(pod.netnsName, this.vethOf(pod));
      }
    });
  }

  /** `endpoints` by "namespace/name": a Service listed there routes to those (its EndpointSlices), not to its selector's pods. */
  async setServices(services: Service[], endpoints?: ReadonlyMap<string, SliceEndpoint[]>): Promise<void> {
    return this.exclusive(async () => {
      const next = new Map<string, ClusterIpService>();
      for (const obj of services) {
        if (obj.kind !== "Service") {
          this.note(`pod network: setServices ignores ${obj.kind} ${obj.metadata.name}`);
          continue;
        }
        const parsed = parseService(obj);
        parsed.notes.forEach((n) => this.note(`pod network: ${n}`));
        if (!parsed.virtual) continue;
        const key = `${parsed.namespace}/${parsed.name}`;
        // A Service keeps its VIP for the run; a new one gets a never-used address.
        const clusterIp = obj.spec?.clusterIP;
        let vip = this.apiClusterIps && typeof clusterIp === "string" && /^\d+\.\d+\.\d+\.\d+$/.test(clusterIp) ? clusterIp : this.services.get(key)?.vip;
        if (vip === undefined) {
          if (this.nextServiceHost > LAST_HOST) throw new AddressesExhaustedError("service", this.state.serviceCidr);
          vip = hostAddress(this.state.serviceCidr, this.nextServiceHost++);
        }
        const eps = endpoints?.get(key);
        next.set(key, { namespace: parsed.namespace, name: parsed.name, ...(parsed.selector ? { selector: parsed.selector } : {}), ports: parsed.ports, vip, ...(endpoints ? { endpoints: eps ?? [] } : {}) });
      }
      this.services = next;
      await this.sync();
    });
  }

  async setPolicies(policies: NetworkPolicy[]): Promise<void> {
    return this.exclusive(async () => {
      const kept = policies.filter((p) => {
        if (p.kind === "NetworkPolicy") return true;
        this.note(`pod network: setPolicies ignores ${p.kind} ${p.metadata.name}`);
        return false;
      });
      kept.flatMap(policyNotes).forEach((n) => this.note(`pod network: ${n}`));
      this.policies = kept;
      await this.sync();
    });
  }

  hostsFile(podName: string): string {
    this.assertUsable();
    const pod = this.pods.get(podName);
    if (!pod) throw new UnknownPodError(podName);
    return renderHostsFile(pod, [...this.services.values()]);
  }

  assertOwnAddress(ip: string): void {
    this.assertUsable();
    if (ip === this.nodeIp) return;
    for (const pod of this.pods.values()) if (pod.ip === ip) return;
    for (const svc of this.services.values()) if (svc.vip === ip) return;
    throw new ForeignAddressError(ip);
  }

  /** The Service VIP of `namespace/name`, if it has one. */
  serviceIp(namespace: string, name: string): string | undefined {
    return this.services.get(`${namespace}/${name}`)?.vip;
  }

  /** Packets the pod's NetworkPolicy filter has dropped: how a runner tells "cut off by a policy" from "not listening". */
  async droppedIngress(podName: string): Promise<number> {
    this.assertUsable();
    const pod = this.pods.get(podName);
    if (!pod) throw new UnknownPodError(podName);
    const out = await run("nsenter", [`--net=${pod.netnsPath}`, "nft", "-j", "list", "counter", "inet", POLICY_TABLE, DROP_COUNTER]);
    const items = (JSON.parse(out) as { nftables: Array<{ counter?: { packets: number } }> }).nftables;
    return items.find((i) => i.counter)?.counter?.packets ?? 0;
  }

  /** Removes every namespace, veth and the bridge (the nft tables go with the namespaces). Idempotent. */
  async destroy(): Promise<void> {
    this.destroying ??= this.queue.then(
      () => this.removeAll(),
      () => this.removeAll(),
    );
    return this.destroying;
  }

  private async removeAll(): Promise<void> {
    liveNetworks.delete(this);
    this.pods.clear();
    this.services.clear();
    this.applied.clear();
    const removed = await removeObjects(this.state, this.log);
    await removeState(this.runId);
    this.log(`pod network ${this.runId}: destroyed (${removed.length} objects removed)`);
  }

  /** @internal for the process 'exit' handler: nothing asynchronous runs there. */
  removeAllSync(): void {
    if (this.destroying) return;
    removeObjectsSync(this.state);
    removeStateSync(this.runId);
  }

  private assertUsable(): void {
    if (this.destroying) throw new NetworkDestroyedError();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.assertUsable();
    const result = this.queue.then(() => {
      this.assertUsable();
      return fn();
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Deletes a pod's veth and netns and drops them from the state file. */
  private async forget(netnsName: string, veth: string): Promise<void> {
    await removeObjects({ netns: [netnsName], links: [veth] }, this.log);
    this.state.netns = this.state.netns.filter((n) => n !== netnsName);
    this.state.links = this.state.links.filter((l) => l !== veth);
    await writeState(this.state);
  }

  /** Re-programs every pod whose tables changed, one nft transaction per netns, all netns in parallel. */
  private async sync(): Promise<void> {
    const pods = [...this.pods.values()];
    const service = renderServiceTable([...this.services.values()], pods, { pods: this.state.podCidr, services: this.state.serviceCidr });
    const failures: RulesetApplyError[] = [];
    await Promise.all(
      pods.map(async (pod) => {
        const policy = renderPolicyTable(pod, this.policies, pods);
        const fingerprint = `${service.text}\n${policy}`;
        const prev = this.applied.get(pod.name);
        if (prev?.fingerprint === fingerprint) return;
        const stale = (prev?.serviceChains ?? []).filter((c) => !service.chains.includes(c));
        try {
          await run("nsenter", [`--net=${pod.netnsPath}`, "nft", "-f", "-"], { input: renderPodRuleset(service, policy, stale) });
          this.applied.set(pod.name, { fingerprint, serviceChains: service.chains });
        } catch (cause) {
          failures.push(new RulesetApplyError(pod.name, { cause }));
        }
      }),
    );
    if (this.state.nodeTable) {
      const text = renderNodeServiceTable(this.state.nodeTable, [...this.services.values()], pods);
      if (text !== this.nodeApplied) {
        try {
          await run("nft", ["-f", "-"], { input: text });
          this.nodeApplied = text;
        } catch (cause) {
          failures.push(new RulesetApplyError("(node)", { cause }));
        }
      }
    }
    for (const f of failures.slice(1)) this.log(`pod network: ${f.message}`);
    if (failures[0]) throw failures[0];
  }

  /** The host end of a pod's veth is named after its address's last octet, unique in the run. */
  private vethOf(pod: { ip: string }): string {
    return `${this.bridge}v${pod.ip.split(".")[3]}`;
  }

  private note(message: string): void {
    if (this.noted.has(message)) return;
    this.noted.add(message);
    this.log(message);
  }

  private view(pod: PodEndpoint): PodEndpoint {
    return { ...pod, labels: { ...pod.labels }, ports: pod.ports.map((p) => ({ ...p })) };
  }
}
