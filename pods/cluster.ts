/**
 * The rendered manifests run on this machine: ConfigMaps and Secrets as the API server would serve them,
 * Services and NetworkPolicies handed to the network, a controller per Deployment and StatefulSet, and the
 * kubelet's work per pod (pods/pod.ts). The API the checks drive (`kubectl exec`, `delete pod`, `apply`,
 * `rollout`) and an idempotent stop that terminates every pod as the kubelet would.
 */
import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BackoffOptions } from "./backoff.ts";
import { ClusterStoppedError, ManifestError, NotFoundError, NotReadyError } from "./errors.ts";
import type { ExecResult } from "./exec.ts";
import { isKind, type ConfigMap, type NetworkPolicy, type PodTemplate, type Secret, type Service, type Workload } from "./k8s.ts";
import { loadManifests } from "./manifests.ts";
import type { PodNetworkApi } from "./network-api.ts";
import { Pod, type PodEvent, type PodInfo } from "./pod.ts";
import { mountsUnder, run } from "./proc.ts";
import type { StandIns } from "./standins.ts";
import { DeploymentController, StatefulSetController, type Controller } from "./workloads.ts";

export type { ContainerInfo, PodEvent, PodInfo } from "./pod.ts";

export interface ClusterOptions {
  manifestsDir: string;
  /** The run's folder: pods/ (volumes, logs), state/pvc/ (claims, kept across pod restarts). */
  runDir: string;
  network: PodNetworkApi;
  standIns: StandIns;
  log?: (line: string) => void;
  /** Container restart back-off; the kubelet's 10 s → 300 s by default. */
  backoff?: BackoffOptions;
  /** Stop on SIGINT/SIGTERM of this process (default true). */
  handleSignals?: boolean;
}

const key = (ns: string | undefined, name: string) => `${ns ?? "default"}/${name}`;

export class Cluster extends EventEmitter {
  private readonly configMaps = new Map<string, ConfigMap>();
  private readonly secrets = new Map<string, Secret>();
  private readonly controllers = new Map<string, Controller>();
  private readonly live = new Map<string, Pod>();
  private readonly all: Pod[] = [];
  private services: Service[] = [];
  private stopping: Promise<void> | undefined;
  private readonly log: (line: string) => void;
  private readonly signalHandlers: Array<[NodeJS.Signals, () => void]> = [];

  private constructor(private readonly opts: ClusterOptions) {
    super();
    this.log = opts.log ?? (() => undefined);
  }

  static async start(opts: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster({ ...opts, runDir: resolve(opts.runDir) });
    await cluster.boot();
    return cluster;
  }

  private async boot(): Promise<void> {
    const { runDir, network } = this.opts;
    // Mounts a SIGKILLed earlier run left in this folder (the containers' own die with them).
    for (const mp of mountsUnder(runDir)) await run("umount", ["-l", mp]).catch(() => undefined);
    mkdirSync(join(runDir, "pods"), { recursive: true, mode: 0o700 });
    mkdirSync(join(runDir, "state", "pvc"), { recursive: true, mode: 0o700 });
    const manifests = loadManifests(this.opts.manifestsDir);
    const services: Service[] = [];
    const policies: NetworkPolicy[] = [];
    const workloads: Workload[] = [];
    for (const { file, object } of manifests) {
      if (isKind(object, "ConfigMap")) this.configMaps.set(key(object.metadata.namespace, object.metadata.name), object);
      else if (isKind(object, "Secret")) this.secrets.set(key(object.metadata.namespace, object.metadata.name), object);
      else if (isKind(object, "Service")) services.push(object);
      else if (isKind(object, "NetworkPolicy")) policies.push(object);
      else if (isKind(object, "Deployment") || isKind(object, "StatefulSet")) workloads.push(object);
      else this.log(`skipped ${object.apiVersion} ${object.kind} ${object.metadata.name} (${file}): not a kind the pod runner acts on`);
    }
    this.services = services;
    await network.setServices(services);
    await network.setPolicies(policies);
    for (const w of workloads) {
      if (this.controllers.has(w.metadata.name)) throw new ManifestError(`two workloads named ${w.metadata.name}`);
      const host = { createPod: (p: Parameters<Cluster["createPod"]>[0]) => this.createPod(p), log: this.log };
      this.controllers.set(w.metadata.name, isKind(w, "Deployment") ? new DeploymentController(w, host) : new StatefulSetController(w, host));
    }
    if (this.opts.handleSignals ?? true) {
      for (const sig of ["SIGINT", "SIGTERM"] as const) {
        const h = () => {
          // Counted now, while the other handlers of this signal are still registered.
          const others = process.listenerCount(sig) > 0;
          this.log(`${sig}: stopping every pod as the kubelet would`);
          // Re-raised once stopped when nobody else handles it, so the process ends as the signal meant.
          void this.stop().finally(() => others || process.kill(process.pid, sig));
        };
        process.once(sig, h);
        this.signalHandlers.push([sig, h]);
      }
    }
    for (const c of this.controllers.values()) c.changed();
  }

  private createPod(p: { name: string; workload: string; kind: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string>; spec: Pod["opts"]["spec"] }): Pod {
    const ns = p.namespace;
    const pod = new Pod({
      ...p,
      podsDir: join(this.opts.runDir, "pods"),
      hide: [this.opts.runDir],
      claimDir: (claim) => join(this.opts.runDir, "state", "pvc", claim),
      network: this.opts.network,
      standIns: this.opts.standIns,
      objects: { configMap: (n) => this.configMaps.get(key(ns, n)), secret: (n) => this.secrets.get(key(ns, n)) },
      services: () => this.services,
      backoff: this.opts.backoff,
      log: this.log,
    });
    this.live.set(pod.name, pod);
    this.all.push(pod);
    pod.on("event", (e: PodEvent) => this.emit("event", e));
    pod.on("terminated", () => {
      if (this.live.get(pod.name) === pod) this.live.delete(pod.name);
    });
    return pod;
  }

  private pod(name: string): Pod {
    const pod = this.live.get(name);
    if (!pod) throw new NotFoundError(`no pod named ${name} (pods: ${[...this.live.keys()].join(", ")})`);
    return pod;
  }

  /** Every pod of every workload Ready within the time, else NotReadyError naming each pod and its last error. */
  waitReady(timeoutMs: number): Promise<void> {
    const pending = () => [...this.controllers.values()].flatMap((c) => c.notReady());
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.stopping) return finish(new ClusterStoppedError("the cluster stopped while waiting for Ready"));
        // Ready means the network knows it too: Services route to every pod once this resolves.
        if (pending().length === 0) void Promise.all([...this.live.values()].map((p) => p.settled())).then(() => finish());
      };
      const timer = setTimeout(() => finish(new NotReadyError(this.notReadyReport(pending(), timeoutMs))), timeoutMs);
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.off("event", check);
        if (err) reject(err);
        else resolve();
      };
      this.on("event", check);
      check();
    });
  }

  private notReadyReport(names: string[], timeoutMs: number): string {
    const lines = names.map((n) => {
      const pod = this.live.get(n);
      if (!pod) return `  ${n}`;
      const info = pod.info();
      const why = info.containers.filter((c) => c.standIn && !c.ready).map((c) => `${c.name}${c.running ? "" : " (not running)"}${c.lastError ? `: ${c.lastError}` : ""}`);
      const detail = why.length ? why.join("; ") : (pod.events.at(-1)?.message ?? "not ready");
      // A pod that failed says why: the last warning is the error that ended it.
      const warning = info.phase === "Failed" ? [...pod.events].reverse().find((e) => e.type === "Warning") : undefined;
      return `  ${n} (${info.phase}): ${detail}${warning ? ` — ${warning.reason}: ${warning.message}` : ""}`;
    });
    return `not every pod was Ready within ${Math.round(timeoutMs / 1000)} s:\n${lines.join("\n")}`;
  }

  /** Live pods (terminating ones included). */
  pods(): PodInfo[] {
    return [...this.live.values()].map((p) => p.info());
  }

  /** Every pod this run created, in creation order, with how each ended. */
  history(): PodInfo[] {
    return this.all.map((p) => p.info());
  }

  exec(pod: string, container: string, argv: string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<ExecResult> {
    return this.pod(pod).exec(container, argv, opts);
  }

  private apply(obj: ConfigMap | Secret): void {
    const kind = obj.kind;
    if (this.stopping) throw new ClusterStoppedError(`cannot apply ${kind} ${obj.metadata.name}: the cluster is stopping`);
    if (obj.kind === "ConfigMap") this.configMaps.set(key(obj.metadata.namespace, obj.metadata.name), obj);
    else this.secrets.set(key(obj.metadata.namespace, obj.metadata.name), obj);
    const ns = obj.metadata.namespace ?? "default";
    for (const pod of this.live.values()) if (pod.opts.namespace === ns) pod.updateObject(kind, obj.metadata.name);
  }

  /** The new data swapped atomically into every pod volume using the ConfigMap; no pod restarts. */
  async applyConfigMap(obj: ConfigMap): Promise<void> {
    this.apply(obj);
  }

  async applySecret(obj: Secret): Promise<void> {
    this.apply(obj);
  }

  /** `kubectl delete pod`: the kubelet's termination; its controller replaces it. Resolves when the old pod is gone. */
  async deletePod(name: string, opts: { graceSeconds?: number } = {}): Promise<PodInfo> {
    const pod = this.pod(name);
    const gone = pod.terminate(opts.graceSeconds);
    this.controllers.get(pod.opts.workload)?.changed(); // a ReplicaSet replaces a terminating pod at once
    return gone;
  }

  /** A rolling update of a Deployment (or StatefulSet) to `template`, or a restart of the current one. */
  async rollout(workload: string, template?: PodTemplate): Promise<void> {
    if (this.stopping) throw new ClusterStoppedError(`cannot roll out ${workload}: the cluster is stopping`);
    const c = this.controllers.get(workload);
    if (!c) throw new NotFoundError(`no Deployment or StatefulSet named ${workload}`);
    await c.rollout(template);
  }

  /** Terminates every pod in parallel as the kubelet would, then the network; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const [sig, h] of this.signalHandlers) process.off(sig, h);
      for (const c of this.controllers.values()) c.stop();
      await Promise.all([...this.live.values()].map((p) => p.terminate()));
      await this.opts.network.destroy();
    })();
    return this.stopping;
  }
}
