/**
 * One API pod on this node: the runner's Pod (pods/pod.ts) run for it, its status PATCHed as it changes,
 * and its deletion as the kubelet's pod workers and status manager do it (pkg/kubelet/pod_workers.go,
 * pkg/kubelet/status/status_manager.go): on a deletionTimestamp, the containers are killed within the
 * grace the API server set (metadata.deletionGracePeriodSeconds), the terminal status is posted, then
 * the pod is deleted with grace 0 and a UID precondition, so a new pod of the same name is never hit.
 */
import { PatchStrategy, setHeaderOptions, type V1Pod } from "@kubernetes/client-node";
import { rmSync } from "node:fs";
import { ManifestError } from "../errors.ts";
import type { PodSpec } from "../k8s.ts";
import { Pod, type PodOptions } from "../pod.ts";
import { statusOf, type NodeApi } from "./api.ts";
import { podStatus } from "./pod-status.ts";

const strategic = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
/** Status changes within this window go out as one PATCH (the kubelet's status manager batches too). */
const COALESCE_MS = 100;

export type PodFactory = (api: V1Pod) => PodOptions;

export class PodWorker {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  private pod: Pod | undefined;
  private api: V1Pod;
  private readonly startTime: Date;
  private timer: NodeJS.Timeout | undefined;
  private sent = "";
  private patching: Promise<void> = Promise.resolve();
  private deleting: Promise<void> | undefined;
  private failure: string | undefined;
  private readonly restartBase: Record<string, number> = {};

  constructor(
    pod: V1Pod,
    private readonly client: NodeApi,
    private readonly hostIp: string,
    private readonly log: (line: string) => void,
  ) {
    this.api = pod;
    this.uid = pod.metadata!.uid!;
    this.name = pod.metadata!.name!;
    this.namespace = pod.metadata!.namespace ?? "default";
    this.startTime = pod.status?.startTime ?? new Date();
    // A container an earlier agent started (it has an ID) died with that agent: starting it again is a restart.
    for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      if (c.containerID) this.restartBase[c.name] = c.restartCount + 1;
    }
  }

  get runner(): Pod | undefined {
    return this.pod;
  }

  /** Starts the pod's containers; a spec the runner refuses becomes a Failed pod with the reason, not a crash. */
  start(options: PodOptions): void {
    try {
      this.pod = new Pod(options);
    } catch (err) {
      if (!(err instanceof ManifestError)) throw err;
      this.failure = err.message;
      this.log(`pod ${this.namespace}/${this.name} cannot run here: ${err.message}`);
      void this.patchFailed(err.message);
      return;
    }
    this.pod.on("event", () => this.statusChanged());
    this.pod.start();
    this.statusChanged();
  }

  /** The latest object from the watch; a deletionTimestamp starts the termination. */
  update(pod: V1Pod): void {
    this.api = pod;
    if (pod.metadata?.deletionTimestamp) void this.delete();
  }

  statusChanged(): void {
    if (this.timer || this.deleting) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.patchStatus();
    }, COALESCE_MS);
  }

  private patchStatus(): Promise<void> {
    this.patching = this.patching.then(async () => {
      if (!this.pod) return;
      const status = podStatus({ info: this.pod.info(), hostIp: this.hostIp, current: this.api.status?.conditions ?? [], startTime: this.startTime, now: new Date(), restartBase: this.restartBase });
      const text = JSON.stringify({ ...status, conditions: status.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })) });
      if (text === this.sent) return;
      try {
        // The UID precondition in the patch: a status never lands on a newer pod of the same name.
        const updated = await this.client.core.patchNamespacedPodStatus({ name: this.name, namespace: this.namespace, body: { metadata: { uid: this.uid }, status } }, strategic);
        this.sent = text;
        this.api = updated;
      } catch (err) {
        if (statusOf(err) === 404 || statusOf(err) === 409) return;
        this.log(`status of ${this.namespace}/${this.name}: ${(err as Error).message}; retried on the next change`);
        setTimeout(() => this.statusChanged(), 1_000);
      }
    });
    return this.patching;
  }

  private async patchFailed(message: string): Promise<void> {
    const body = { metadata: { uid: this.uid }, status: { phase: "Failed", reason: "UnsupportedPod", message, hostIP: this.hostIp, startTime: this.startTime } };
    await this.client.core.patchNamespacedPodStatus({ name: this.name, namespace: this.namespace, body }, strategic).catch((err: Error) => this.log(`status of ${this.namespace}/${this.name}: ${err.message}`));
  }

  /** The grace the API server set on deletion; the pod's own when it was not set. */
  private grace(): number {
    return this.api.metadata?.deletionGracePeriodSeconds ?? this.api.spec?.terminationGracePeriodSeconds ?? 30;
  }

  /** Termination, terminal status, DELETE (grace 0, UID precondition). Idempotent. */
  delete(): Promise<void> {
    this.deleting ??= (async () => {
      clearTimeout(this.timer);
      this.timer = undefined;
      if (this.pod) {
        const info = await this.pod.terminate(this.grace());
        await this.patching;
        this.sent = "";
        await this.patchStatus();
        this.log(`pod ${this.namespace}/${this.name} terminated in ${info.terminationSeconds?.toFixed(1)}s of ${info.graceSeconds}s`);
        // The kubelet removes a deleted pod's folder (logs included) once its volumes are gone (cleanupOrphanedPodDirs).
        rmSync(this.pod.dir, { recursive: true, force: true });
      }
      await this.client.core
        .deleteNamespacedPod({ name: this.name, namespace: this.namespace, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: this.uid } } })
        .catch((err: unknown) => {
          if (statusOf(err) !== 404 && statusOf(err) !== 409) this.log(`delete of ${this.namespace}/${this.name}: ${(err as Error).message}`);
        });
    })();
    return this.deleting;
  }

  /** The agent stops: the containers are killed (they cannot outlive it), the API object is left as a stopped kubelet leaves it. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.deleting ??= Promise.resolve();
    await this.pod?.terminate();
    await this.patching;
  }

  /** Why the pod could not run at all, if it could not. */
  get failed(): string | undefined {
    return this.failure;
  }
}

/** The pod's spec as the runner types it (kubernetes-models): client-node types the same JSON, its enums widened to string. */
export function runnerSpec(pod: V1Pod): PodSpec {
  return pod.spec as unknown as PodSpec;
}
