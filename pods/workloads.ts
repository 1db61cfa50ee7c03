/**
 * The controllers that own pods: a Deployment (through its ReplicaSets: pods `<name>-<hash>-<rand>`,
 * replaced at once when one is deleted, rolled per spec.strategy) and a StatefulSet (pods
 * `<name>-<ordinal>` with their claims `<template>-<pod>`, created in order each after the previous is
 * Ready (OrderedReady) unless podManagementPolicy is Parallel, a deleted pod recreated under the same
 * name once the old one is gone). Each `reconcile()` is one sync of the controller, run on every pod
 * event.
 */
import { ClusterStoppedError, ManifestError } from "./errors.ts";
import type { Deployment, PodSpec, PodTemplate, StatefulSet, Volume, Workload } from "./k8s.ts";
import type { Pod } from "./pod.ts";
import { randomSuffix, resolveFenceposts, rollingStep, templateHash } from "./rollout.ts";

/** What a controller asks of the cluster. */
export interface ControllerHost {
  createPod(p: { name: string; workload: string; kind: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string>; spec: PodSpec }): Pod;
  log(line: string): void;
}

/** A pod template with the pod spec the API requires of a workload's template. */
export type RunnableTemplate = PodTemplate & { spec: PodSpec };

/** `template` (by default the workload's own) with the containers the API requires of it, or a ManifestError. */
export function runnableTemplate(obj: Workload, template: PodTemplate | undefined = obj.spec?.template): RunnableTemplate {
  if (!template?.spec?.containers?.length) throw new ManifestError(`${obj.kind} ${obj.metadata.name}: spec.template.spec.containers is required`);
  return { ...template, spec: template.spec };
}

export abstract class Controller<W extends Workload = Workload> {
  protected stopped = false;
  readonly pods = new Map<string, { pod: Pod; hash: string }>();
  protected template: RunnableTemplate;
  protected hash: string;

  constructor(
    protected readonly obj: W,
    protected readonly host: ControllerHost,
  ) {
    this.template = runnableTemplate(obj);
    this.hash = templateHash(this.template);
  }

  get name(): string {
    return this.obj.metadata.name;
  }
  get kind(): string {
    return this.obj.kind;
  }
  get namespace(): string {
    return this.obj.metadata.namespace ?? "default";
  }
  get replicas(): number {
    return this.obj.spec?.replicas ?? 1;
  }

  /** One sync: create or delete pods toward the desired state. */
  abstract reconcile(): void;
  /** Names of desired pods that are missing or not Ready, with why (for waitReady's message). */
  abstract notReady(): string[];
  /** Replaces the template (or restarts it, as `kubectl rollout restart`) and resolves when the rollout is complete. */
  abstract rollout(template?: PodTemplate): Promise<void>;

  protected live(): Array<{ pod: Pod; hash: string }> {
    return [...this.pods.values()].filter((p) => !p.pod.terminating);
  }

  protected spawn(name: string, labels: Record<string, string>, spec: PodSpec): Pod {
    const pod = this.host.createPod({ name, workload: this.name, kind: this.kind, namespace: this.namespace, labels: { ...this.template.metadata?.labels, ...labels }, annotations: { ...this.template.metadata?.annotations }, spec });
    this.pods.set(name, { pod, hash: this.hash });
    pod.on("ready", () => this.changed());
    pod.on("unready", () => this.changed());
    pod.on("terminated", () => {
      if (this.pods.get(name)?.pod === pod) this.pods.delete(name);
      this.changed();
    });
    return pod;
  }

  /** Resolves when `done()` holds, re-checking on every event of every pod. */
  protected waitUntil(done: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.stopped) return reject(new ClusterStoppedError(`${this.kind} ${this.name}: the cluster stopped during a rollout`));
        this.reconcile();
        if (done()) resolve();
        else this.onceChanged(check);
      };
      check();
    });
  }

  private waiters: Array<() => void> = [];
  protected onceChanged(fn: () => void): void {
    this.waiters.push(fn);
  }
  /** A pod of this controller changed (ready, unready, gone), or the cluster asks for a sync. */
  changed(): void {
    this.reconcile();
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  stop(): void {
    this.stopped = true;
    this.changed();
  }

  protected restartTemplate(): RunnableTemplate {
    // kubectl rollout restart: an annotation change on the template.
    const annotations = { ...this.template.metadata?.annotations, "kubectl.kubernetes.io/restartedAt": new Date().toISOString() };
    return { ...this.template, metadata: { ...this.template.metadata, annotations } };
  }
}

export class DeploymentController extends Controller<Deployment> {
  reconcile(): void {
    if (this.stopped) return;
    const strategy = this.obj.spec?.strategy ?? {};
    const live = this.live();
    const fresh = live.filter((p) => p.hash === this.hash);
    const old = live.filter((p) => p.hash !== this.hash);
    if (strategy.type === "Recreate") {
      for (const p of old) void p.pod.terminate();
      // New pods only once every old pod is gone, terminating ones included.
      if ([...this.pods.values()].some((p) => p.hash !== this.hash)) return;
      for (let i = fresh.length; i < this.replicas; i++) this.createOne();
      return;
    }
    const { surge, unavailable } = resolveFenceposts(strategy.rollingUpdate?.maxSurge, strategy.rollingUpdate?.maxUnavailable, this.replicas);
    const step = rollingStep({ replicas: this.replicas, surge, unavailable, newPods: fresh.length, newReady: fresh.filter((p) => p.pod.ready).length, oldPods: old.length, oldReady: old.filter((p) => p.pod.ready).length });
    for (let i = 0; i < step.up; i++) this.createOne();
    // The ReplicaSet controller deletes unready pods first, then the most recently ready.
    const victims = [...old].sort((a, b) => Number(a.pod.ready) - Number(b.pod.ready) || (b.pod.readyAt ?? 0) - (a.pod.readyAt ?? 0)).slice(0, step.down);
    for (const v of victims) {
      this.host.log(`${this.name}: rolling update deletes ${v.pod.name}`);
      void v.pod.terminate();
    }
  }

  private createOne(): void {
    const name = `${this.name}-${this.hash}-${randomSuffix()}`;
    this.spawn(name, { "pod-template-hash": this.hash }, this.template.spec).start();
  }

  notReady(): string[] {
    const live = this.live().filter((p) => p.hash === this.hash);
    const out = live.filter((p) => !p.pod.ready).map((p) => p.pod.name);
    for (let i = live.length; i < this.replicas; i++) out.push(`${this.name}-${this.hash}-(not created yet)`);
    return out;
  }

  async rollout(template?: PodTemplate): Promise<void> {
    this.template = template ? runnableTemplate(this.obj, template) : this.restartTemplate();
    this.hash = templateHash(this.template);
    this.host.log(`${this.name}: rolling out template ${this.hash} (${JSON.stringify(this.obj.spec?.strategy ?? { type: "RollingUpdate" })})`);
    await this.waitUntil(() => {
      const fresh = this.live().filter((p) => p.hash === this.hash);
      return fresh.length === this.replicas && fresh.every((p) => p.pod.ready) && [...this.pods.values()].every((p) => p.hash === this.hash);
    });
  }
}

export class StatefulSetController extends Controller<StatefulSet> {
  private get parallel(): boolean {
    return this.obj.spec?.podManagementPolicy === "Parallel";
  }

  private podName(ordinal: number): string {
    return `${this.name}-${ordinal}`;
  }

  /** The pod spec with a volume per claim template, as the StatefulSet controller adds them. */
  private specFor(podName: string): PodSpec {
    const claims: Volume[] = (this.obj.spec?.volumeClaimTemplates ?? []).map((t) => {
      const name = t.metadata?.name;
      if (!name) throw new ManifestError(`StatefulSet ${this.name}: a volumeClaimTemplate needs metadata.name`);
      return { name, persistentVolumeClaim: { claimName: `${name}-${podName}` } };
    });
    const names = new Set(claims.map((c) => c.name));
    return { ...this.template.spec, volumes: [...(this.template.spec.volumes ?? []).filter((v) => !names.has(v.name)), ...claims] };
  }

  reconcile(): void {
    if (this.stopped) return;
    for (let i = 0; i < this.replicas; i++) {
      const name = this.podName(i);
      const have = this.pods.get(name);
      if (have) {
        // OrderedReady: the next ordinal waits for this one to be Running and Ready.
        if (!this.parallel && (!have.pod.ready || have.pod.terminating)) return;
        continue;
      }
      const labels = { "statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": String(i), "controller-revision-hash": `${this.name}-${this.hash}` };
      this.spawn(name, labels, this.specFor(name)).start();
      if (!this.parallel) return;
    }
  }

  notReady(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.replicas; i++) {
      const p = this.pods.get(this.podName(i));
      if (!p) out.push(`${this.podName(i)} (not created yet${i > 0 && !this.parallel ? `: waits for ${this.podName(i - 1)} to be Ready` : ""})`);
      else if (!p.pod.ready || p.pod.terminating) out.push(p.pod.name);
    }
    return out;
  }

  /** RollingUpdate: from the highest ordinal down, each pod deleted, recreated with the new template and Ready before the next. */
  async rollout(template?: PodTemplate): Promise<void> {
    this.template = template ? runnableTemplate(this.obj, template) : this.restartTemplate();
    this.hash = templateHash(this.template);
    for (let i = this.replicas - 1; i >= 0; i--) {
      const p = this.pods.get(this.podName(i));
      if (p && p.hash !== this.hash) await p.pod.terminate();
      await this.waitUntil(() => {
        const q = this.pods.get(this.podName(i));
        return q !== undefined && q.hash === this.hash && q.pod.ready;
      });
    }
  }
}
