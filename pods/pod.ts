/**
 * A pod as the kubelet runs it: its network namespace from the network, its volumes, init containers in
 * order (each to an exit 0, retried with back-off), then every container supervised (pods/supervisor.ts);
 * Ready when every container that runs is ready, told to the network on every change; termination as
 * the kubelet's killPod: the endpoint dropped first, then every container killed in parallel within the
 * grace period, then volumes and network namespace removed.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdirSync, rmSync } from "node:fs";
import { hostname as nodeName } from "node:os";
import { join } from "node:path";
import type { BackoffOptions } from "./backoff.ts";
import { containerInfo, type PodInfo } from "./pod-info.ts";
import { containerConfig } from "./container-config.ts";
import { ManifestError, NotFoundError, VolumeError } from "./errors.ts";
import type { ExecOptions, ExecResult } from "./exec.ts";
import { resolvePort, type PodSpec, type Service } from "./k8s.ts";
import type { PodEndpoint, PodNetworkApi } from "./network-api.ts";
import { serviceEnv } from "./service-env.ts";
import type { StandIns } from "./standins.ts";
import { ContainerSupervisor, type PodEvent, type SupervisorHost } from "./supervisor.ts";
import { PodVolumes, type ObjectStore } from "./volumes.ts";

export type { PodEvent } from "./supervisor.ts";
export type { ContainerInfo, PodInfo } from "./pod-info.ts";

export interface PodOptions {
  name: string;
  namespace: string;
  workload: string;
  kind: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: PodSpec;
  /** The run's folder for pods; this pod gets `<name>_<uid>` in it. */
  podsDir: string;
  /** Node folders containers must not see. */
  hide: string[];
  claimDir: (claimName: string) => string;
  network: PodNetworkApi;
  standIns: StandIns;
  objects: ObjectStore;
  /** The Services of the run, for the Service link variables. */
  services: () => readonly Service[];
  backoff?: BackoffOptions;
  log?: (line: string) => void;
}

export class Pod extends EventEmitter {
  readonly name: string;
  readonly startedAt = Date.now();
  readonly dir: string;
  ready = false;
  everReady = false;
  readyAt: number | undefined;
  terminating = false;
  phase: PodInfo["phase"] = "Pending";
  readonly events: PodEvent[] = [];
  private endpoint: PodEndpoint | undefined;
  private volumes: PodVolumes | undefined;
  private readonly inits: ContainerSupervisor[];
  private readonly mains: ContainerSupervisor[];
  private running: Promise<void> = Promise.resolve();
  private terminated: Promise<PodInfo> | undefined;
  private termination: { seconds: number; grace: number } | undefined;
  private netSync: Promise<void> = Promise.resolve();

  constructor(readonly opts: PodOptions) {
    super();
    this.name = opts.name;
    this.dir = join(opts.podsDir, `${opts.name}_${randomBytes(4).toString("hex")}`);
    for (const c of opts.spec.initContainers ?? []) {
      if (c.restartPolicy === "Always") throw new ManifestError(`init container ${c.name}: sidecar containers (restartPolicy: Always) are not supported by the pod runner`);
    }
    if (opts.spec.shareProcessNamespace || opts.spec.hostNetwork || opts.spec.hostPID) {
      throw new ManifestError(`pod ${opts.name}: shareProcessNamespace, hostNetwork and hostPID are not supported by the pod runner`);
    }
    const host = this.makeHost();
    const sup = (init: boolean) => (c: PodSpec["containers"][number]) => {
      // The API requires an image of a pod's container (kubernetes-models leaves it optional for other uses of Container).
      if (!c.image) throw new ManifestError(`pod ${opts.name}: container ${c.name} names no image`);
      return new ContainerSupervisor(host, c, opts.standIns.resolve(c.image), init);
    };
    this.inits = (opts.spec.initContainers ?? []).map(sup(true));
    this.mains = opts.spec.containers.map(sup(false));
  }

  get graceSeconds(): number {
    return this.opts.spec.terminationGracePeriodSeconds ?? 30;
  }

  private get hostname(): string {
    return (this.opts.spec.hostname ?? this.name).slice(0, 63);
  }

  private makeHost(): SupervisorHost {
    return {
      podName: this.name,
      restartPolicy: this.opts.spec.restartPolicy ?? "Always",
      backoff: this.opts.backoff,
      netnsPath: () => this.endpoint!.netnsPath,
      graceSeconds: () => this.graceSeconds,
      config: (c, standIn) => {
        const hostsFile = this.opts.network.hostsFile(this.name);
        const links = this.opts.spec.enableServiceLinks === false ? new Map<string, string>() : serviceEnv(this.opts.services(), this.opts.namespace, hostsFile);
        return containerConfig(c, standIn, {
          name: this.name,
          spec: this.opts.spec,
          hostname: this.hostname,
          hostsFile,
          volumes: this.volumes!,
          hide: this.opts.hide,
          env: {
            pod: { name: this.name, namespace: this.opts.namespace, ip: this.endpoint!.ip, labels: this.opts.labels, annotations: this.opts.annotations, nodeName: nodeName(), hostIp: this.opts.network.nodeIp },
            configMap: (n) => this.opts.objects.configMap(n),
            secret: (n) => this.opts.objects.secret(n),
            serviceEnv: links,
          },
        });
      },
      mountDir: (c, run) => join(this.dir, "rootfs", `${c}-${run}`),
      logPath: (c, run) => join(this.dir, "logs", c, `${run}.log`),
      probeTarget: (exec) => ({
        exec,
        podIp: this.endpoint!.ip,
        port: (p) => resolvePort(p, this.opts.spec.containers),
        assertOwnAddress: (ip) => this.opts.network.assertOwnAddress(ip),
      }),
      prepare: (s) => this.opts.standIns.prepare(s),
      emit: (e) => this.event(e),
      stateChanged: () => this.updateReady(),
    };
  }

  private event(e: Omit<PodEvent, "at" | "pod">): void {
    const ev: PodEvent = { at: Date.now(), pod: this.name, ...e };
    this.events.push(ev);
    this.opts.log?.(`${new Date(ev.at).toISOString()} ${this.name}${ev.container ? `/${ev.container}` : ""} ${ev.reason}: ${ev.message}`);
    this.emit("event", ev);
  }

  /** Starts the pod in the background; `event`, `ready`, `unready` and `terminated` tell how it goes. */
  start(): this {
    this.running = this.runPod().catch((err: Error) => {
      this.phase = "Failed";
      this.event({ type: "Warning", reason: "Failed", message: err.message });
    });
    return this;
  }

  private async runPod(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const ports = this.opts.spec.containers.flatMap((c) => c.ports ?? []).map((p) => ({ name: p.name, containerPort: p.containerPort }));
    this.endpoint = await this.opts.network.addPod({ name: this.name, namespace: this.opts.namespace, labels: this.opts.labels, ports });
    this.event({ type: "Normal", reason: "Scheduled", message: `network namespace ${this.endpoint.netnsName}, address ${this.endpoint.ip}` });
    for (const s of [...this.inits, ...this.mains]) {
      const r = s.resolution;
      if (!r.standIn) this.event({ type: "Warning", reason: "NoStandIn", message: `container ${s.name} (${r.image}) is not run: ${r.reason}` });
    }
    while (!this.terminating && !this.volumes) {
      try {
        this.volumes = await PodVolumes.setup({ podDir: this.dir, volumes: this.opts.spec.volumes ?? [], security: this.opts.spec.securityContext ?? {}, objects: this.opts.objects, claimDir: this.opts.claimDir });
      } catch (err) {
        if (!(err instanceof VolumeError)) throw err;
        this.event({ type: "Warning", reason: "FailedMount", message: err.message });
        await new Promise((r) => setTimeout(r, 2_000)); // the kubelet retries a mount on its next sync
      }
    }
    for (const init of this.inits) {
      if (this.terminating) return;
      if (!(await init.run())) {
        if (!this.terminating) this.phase = "Failed";
        return;
      }
    }
    if (this.terminating) return;
    this.phase = "Running";
    await Promise.all(this.mains.map((s) => s.run()));
  }

  private updateReady(): void {
    const run = this.mains.filter((s) => s.resolution.standIn);
    const ready = this.phase === "Running" && run.length > 0 && run.every((s) => s.ready);
    if (ready === this.ready) return;
    this.ready = ready;
    if (ready && !this.everReady) {
      this.everReady = true;
      this.readyAt = Date.now();
    }
    this.event({ type: "Normal", reason: ready ? "Ready" : "NotReady", message: ready ? `pod is Ready after ${((Date.now() - this.startedAt) / 1000).toFixed(1)}s` : "pod is not Ready" });
    this.emit(ready ? "ready" : "unready");
    this.syncNetwork();
  }

  /** Tells the network the pod's state, in order; a failure is an event, never a crash. */
  private syncNetwork(): Promise<void> {
    if (!this.endpoint) return this.netSync;
    const state = { ready: this.ready, terminating: this.terminating };
    this.netSync = this.netSync.then(() => this.opts.network.setPodState(this.name, state)).catch((err: Error) => this.event({ type: "Warning", reason: "NetworkSync", message: err.message }));
    return this.netSync;
  }

  /** Resolves once the network has been told every state change so far. */
  settled(): Promise<void> {
    return this.netSync;
  }

  private container(name: string): ContainerSupervisor {
    const s = [...this.mains, ...this.inits].find((c) => c.name === name);
    if (!s) throw new NotFoundError(`pod ${this.name} has no container ${name}`);
    return s;
  }

  exec(container: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.container(container).exec(argv, opts);
  }

  /** A ConfigMap or Secret changed: the atomic swap in every volume of this pod using it. */
  updateObject(kind: "ConfigMap" | "Secret", name: string): string[] {
    const changed = this.volumes?.update(kind, name) ?? [];
    for (const v of changed) this.event({ type: "Normal", reason: "VolumeUpdated", message: `${kind} ${name} swapped into volume ${v}` });
    return changed;
  }

  /** The kubelet's pod termination; idempotent. Resolves when the pod is gone, with what happened. */
  terminate(graceSeconds = this.graceSeconds): Promise<PodInfo> {
    this.terminated ??= (async () => {
      const t0 = Date.now();
      this.terminating = true;
      this.phase = "Terminating";
      this.event({ type: "Normal", reason: "Killing", message: `terminating the pod, grace period ${graceSeconds}s` });
      await this.syncNetwork(); // the endpoint goes first, so no new connection arrives while containers stop
      await Promise.all([...this.inits, ...this.mains].map((s) => s.stop(t0, graceSeconds)));
      await this.running;
      this.termination = { seconds: (Date.now() - t0) / 1000, grace: graceSeconds };
      await this.volumes?.teardown();
      rmSync(join(this.dir, "rootfs"), { recursive: true, force: true });
      if (this.endpoint) await this.opts.network.removePod(this.name).catch((err: Error) => this.event({ type: "Warning", reason: "NetworkSync", message: err.message }));
      this.phase = "Terminated";
      this.ready = false;
      this.event({ type: "Normal", reason: "Terminated", message: `pod terminated in ${this.termination.seconds.toFixed(1)}s of ${graceSeconds}s` });
      this.emit("terminated");
      return this.info();
    })();
    return this.terminated;
  }

  info(): PodInfo {
    const containers = [...this.inits, ...this.mains].map(containerInfo);
    return {
      name: this.name,
      namespace: this.opts.namespace,
      workload: this.opts.workload,
      kind: this.opts.kind,
      ip: this.endpoint?.ip ?? "",
      phase: this.phase,
      ready: this.ready,
      everReady: this.everReady,
      terminating: this.terminating,
      ...(this.readyAt ? { readySeconds: (this.readyAt - this.startedAt) / 1000 } : {}),
      restarts: containers.reduce((n, c) => n + c.restarts, 0),
      containers,
      ...(this.termination ? { terminationSeconds: this.termination.seconds } : {}),
      graceSeconds: this.termination?.grace ?? this.graceSeconds,
      startedAt: this.startedAt,
    };
  }
}
