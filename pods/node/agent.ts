/**
 * The node agent: this machine as the one Node of the local control plane. What it owes the API server
 * (registration, lease, pod status, deletion) is kept apart from how pods run, as virtual-kubelet's
 * node/podcontroller.go keeps it: pods run with the pod runner's own machinery (pods/pod.ts, its
 * network, volumes, probes and termination), fed from informers instead of a folder of manifests.
 */
import type { KubernetesObject, V1ConfigMap, V1EndpointSlice, V1NetworkPolicy, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1Secret, V1Service } from "@kubernetes/client-node";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BackoffOptions } from "../backoff.ts";
import type { SliceEndpoint } from "../network-api.ts";
import { PodNetwork } from "../network.ts";
import type { PodOptions } from "../pod.ts";
import { mountsUnder, run } from "../proc.ts";
import { detectStandIns, type StandIns } from "../standins.ts";
import { asManifest, asManifests, informer, nodeApi, type Cache, type NodeApi } from "./api.ts";
import { ClaimProvisioner } from "./claims.ts";
import { NodeAgentNotRootError } from "./errors.ts";
import { machineFacts } from "./node-object.ts";
import { PodWorker, runnerSpec } from "./pod-worker.ts";
import { NodeRegistration } from "./registration.ts";

export interface NodeAgentOptions {
  kubeconfig: string;
  nodeName: string;
  /** Pods' folders and the claims' data. */
  runDir: string;
  /** Where app-probe/ is, for the probe image's stand-in. */
  projectDir: string;
  kubeletVersion: string;
  /** The API server's --service-cluster-ip-range: Services are reached at their own clusterIP. */
  serviceCidr: string;
  log: (line: string) => void;
  backoff?: BackoffOptions;
  /** Stand-ins to use instead of this machine's (tests). */
  standIns?: StandIns;
}

export class NodeAgent {
  private readonly workers = new Map<string, PodWorker>();
  private readonly caches: Array<Cache<KubernetesObject>> = [];
  private stopping: Promise<void> | undefined;
  private netQueue: Promise<unknown> = Promise.resolve();
  private registration: NodeRegistration | undefined;
  private pods!: Cache<V1Pod>;
  private configMaps!: Cache<V1ConfigMap>;
  private secrets!: Cache<V1Secret>;
  private services!: Cache<V1Service>;
  private policies!: Cache<V1NetworkPolicy>;
  private slices!: Cache<V1EndpointSlice>;

  private constructor(
    private readonly o: NodeAgentOptions,
    private readonly api: NodeApi,
    private readonly network: PodNetwork,
    private readonly standIns: StandIns,
  ) {}

  static async start(o: NodeAgentOptions): Promise<NodeAgent> {
    if (process.getuid?.() !== 0) throw new NodeAgentNotRootError("the node agent runs pods in Linux namespaces and programs nftables: run it as root");
    const runDir = resolve(o.runDir);
    // Mounts an agent killed with SIGKILL left in its folder; its namespaces and veths are swept below.
    for (const mp of mountsUnder(runDir)) await run("umount", ["-l", mp]).catch(() => undefined);
    // Its pods' folders too: their containers died with it, and this run starts each pod again in a folder
    // of its own, so nothing would ever remove the old ones (the kubelet's cleanupOrphanedPodDirs).
    // A folder something is still mounted in is left alone: a claim's data may be bound there.
    const podsDir = join(runDir, "pods");
    const mounted = mountsUnder(podsDir);
    for (const d of existsSync(podsDir) ? readdirSync(podsDir) : []) {
      const dir = join(podsDir, d);
      if (mounted.some((mp) => mp === dir || mp.startsWith(`${dir}/`))) o.log(`left ${dir}: something is still mounted in it`);
      else rmSync(dir, { recursive: true, force: true });
    }
    mkdirSync(podsDir, { recursive: true, mode: 0o700 });
    mkdirSync(join(runDir, "pvc"), { recursive: true, mode: 0o700 });
    await PodNetwork.sweepStale(o.log);
    const standIns = o.standIns ?? (await detectStandIns({ projectDir: o.projectDir, cacheDir: join(o.projectDir, ".local", "pods"), log: o.log }));
    // The node's processes reach Services too (kube-proxy programs the host): the probe answers from here.
    const network = await PodNetwork.create({ log: o.log, serviceCidr: o.serviceCidr, nodeServices: true });
    const agent = new NodeAgent({ ...o, runDir }, nodeApi(o.kubeconfig), network, standIns);
    try {
      await agent.boot();
    } catch (err) {
      await agent.stop();
      throw err;
    }
    return agent;
  }

  get nodeIp(): string {
    return this.network.nodeIp;
  }

  private watch<T extends KubernetesObject>(path: string, list: () => Promise<{ items: T[] }>, on: (obj: T, deleted: boolean) => void, fieldSelector?: string): Cache<T> {
    const cache = informer<T>(this.api, path, list as never, () => !this.stopping, this.o.log, fieldSelector);
    cache.informer.on("add", (o) => on(o, false));
    cache.informer.on("update", (o) => on(o, false));
    cache.informer.on("delete", (o) => on(o, true));
    this.caches.push(cache as unknown as Cache<KubernetesObject>);
    return cache;
  }

  private async boot(): Promise<void> {
    const { core, networking, discovery } = this.api;
    const claims = new ClaimProvisioner(this.api, this.o.nodeName, (ns, claim) => this.claimDir(ns, claim), this.o.log);
    // Objects pods read first, so a pod's volumes and env find them in the caches when it starts.
    this.configMaps = this.watch("/api/v1/configmaps", () => core.listConfigMapForAllNamespaces(), (cm) => this.objectChanged("ConfigMap", cm));
    this.secrets = this.watch("/api/v1/secrets", () => core.listSecretForAllNamespaces(), (s) => this.objectChanged("Secret", s));
    this.services = this.watch("/api/v1/services", () => core.listServiceForAllNamespaces(), () => this.syncNetwork());
    this.policies = this.watch("/apis/networking.k8s.io/v1/networkpolicies", () => networking.listNetworkPolicyForAllNamespaces(), () => this.syncNetwork());
    this.slices = this.watch("/apis/discovery.k8s.io/v1/endpointslices", () => discovery.listEndpointSliceForAllNamespaces(), () => this.syncNetwork());
    this.watch<V1PersistentVolumeClaim>("/api/v1/persistentvolumeclaims", () => core.listPersistentVolumeClaimForAllNamespaces(), (c, deleted) => deleted || void claims.claimChanged(c));
    this.watch<V1PersistentVolume>("/api/v1/persistentvolumes", () => core.listPersistentVolume(), (pv, deleted) => deleted || void claims.volumeChanged(pv));
    await Promise.all(this.caches.map((c) => c.synced));
    await this.syncNetwork();
    const facts = machineFacts(this.o.nodeName, this.network.nodeIp, this.o.kubeletVersion);
    this.registration = new NodeRegistration(this.api, facts, this.o.log);
    await this.registration.register();
    const selector = `spec.nodeName=${this.o.nodeName}`;
    this.pods = this.watch("/api/v1/pods", () => core.listPodForAllNamespaces({ fieldSelector: selector }), (p, deleted) => this.podChanged(p, deleted), selector);
    await this.pods.synced;
    this.o.log(`node agent ${this.o.nodeName} ready: pod network on ${this.network.podCidr}, watching pods bound to it`);
  }

  private claimDir(ns: string, claim: string): string {
    return join(this.o.runDir, "pvc", `${ns}_${claim}`);
  }

  private objectChanged(kind: "ConfigMap" | "Secret", obj: V1ConfigMap | V1Secret): void {
    const ns = obj.metadata?.namespace ?? "default";
    for (const w of this.workers.values()) if (w.namespace === ns) w.runner?.updateObject(kind, obj.metadata!.name!);
  }

  /** Services and NetworkPolicies as the network takes them, applied in order, one change at a time. */
  private syncNetwork(): Promise<void> {
    const next = this.netQueue.then(async () => {
      if (this.stopping || !this.services || !this.policies || !this.slices) return;
      await this.network.setServices(asManifests("Service", this.services.informer.list()), sliceEndpoints(this.slices.informer.list()));
      await this.network.setPolicies(asManifests("NetworkPolicy", this.policies.informer.list()));
    });
    this.netQueue = next.catch((err: Error) => this.o.log(`network sync failed: ${err.message}`));
    return this.netQueue as Promise<void>;
  }

  private podChanged(pod: V1Pod, deleted: boolean): void {
    if (this.stopping) return;
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const known = this.workers.get(uid);
    if (deleted) {
      // Gone from the API without us (a force delete): the kubelet kills what still runs.
      if (known) void known.delete().finally(() => this.workers.delete(uid));
      return;
    }
    if (known) return known.update(pod);
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") return; // a finished pod is never started again
    const worker = new PodWorker(pod, this.api, this.network.nodeIp, this.o.log);
    this.workers.set(uid, worker);
    if (pod.metadata?.deletionTimestamp) {
      void worker.delete().finally(() => this.workers.delete(uid));
      return;
    }
    worker.start(this.podOptions(pod));
    worker.update(pod);
    const forget = () => {
      if (this.workers.get(uid) === worker) this.workers.delete(uid);
    };
    worker.runner?.once("terminated", forget);
  }

  private podOptions(pod: V1Pod): PodOptions {
    const ns = pod.metadata!.namespace ?? "default";
    const owner = pod.metadata?.ownerReferences?.[0];
    return {
      name: pod.metadata!.name!,
      namespace: ns,
      workload: owner?.name ?? pod.metadata!.name!,
      kind: owner?.kind ?? "Pod",
      labels: pod.metadata?.labels ?? {},
      annotations: pod.metadata?.annotations ?? {},
      spec: runnerSpec(pod),
      podsDir: join(this.o.runDir, "pods"),
      hide: [this.o.runDir],
      claimDir: (claim) => this.claimDir(ns, claim),
      network: this.network,
      standIns: this.standIns,
      objects: {
        configMap: (n) => asManifest("ConfigMap", this.configMaps.informer.get(n, ns)),
        secret: (n) => asManifest("Secret", this.secrets.informer.get(n, ns)),
      },
      services: () => asManifests("Service", this.services.informer.list()),
      backoff: this.o.backoff,
      log: this.o.log,
    };
  }

  /** Pods this agent runs now, by namespace/name. */
  podNames(): string[] {
    return [...this.workers.values()].map((w) => `${w.namespace}/${w.name}`);
  }

  /** Heartbeats stop, watches stop, every pod is killed (they cannot outlive the agent), the network removed. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.registration?.stop();
      for (const c of this.caches) await c.informer.stop().catch(() => undefined);
      await Promise.all([...this.workers.values()].map((w) => w.stop().catch((err: Error) => this.o.log(`stopping ${w.name}: ${err.message}`))));
      await this.netQueue;
      await this.network.destroy();
    })();
    return this.stopping;
  }
}

/**
 * Each Service's ready endpoints from its EndpointSlices, by "namespace/name", as kube-proxy reads them
 * (pkg/proxy/endpointslicecache.go): IPv4 slices, TCP ports by name, addresses whose `ready` condition is
 * true or unset. Serving-but-terminating endpoints, which kube-proxy uses when none is ready, are not.
 */
export function sliceEndpoints(slices: readonly V1EndpointSlice[]): Map<string, SliceEndpoint[]> {
  const ready = new Map<string, SliceEndpoint[]>();
  const servingTerminating = new Map<string, SliceEndpoint[]>();
  for (const slice of slices) {
    const service = slice.metadata?.labels?.["kubernetes.io/service-name"];
    if (!service || slice.addressType !== "IPv4") continue;
    const key = `${slice.metadata?.namespace ?? "default"}/${service}`;
    const ports = Object.fromEntries((slice.ports ?? []).filter((p) => p.port !== undefined && (p.protocol ?? "TCP") === "TCP").map((p) => [p.name ?? "", p.port!]));
    const add = (to: Map<string, SliceEndpoint[]>, ips: readonly string[]) => to.set(key, [...(to.get(key) ?? []), ...ips.map((ip) => ({ ip, ports }))]);
    add(ready, []);
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready !== false) add(ready, ep.addresses);
      else if (ep.conditions?.serving === true && ep.conditions?.terminating === true) add(servingTerminating, ep.addresses);
    }
  }
  // As kube-proxy does (pkg/proxy/topology.go CategorizeEndpoints at v1.37.2): a Service with no ready
  // endpoint sends its traffic to the ones still serving while they terminate, rather than to nobody.
  for (const [key, list] of ready) if (list.length === 0 && servingTerminating.has(key)) ready.set(key, servingTerminating.get(key)!);
  return ready;
}
