/**
 * What the node agent reports in pods/status, as a pure function of the runner's snapshot of a pod
 * (pods/pod-info.ts). The shapes follow the kubelet's generateAPIPodStatus and convertToAPIContainerStatuses
 * (pkg/kubelet/kubelet_pods.go) and the condition generators of pkg/kubelet/status/generate.go; kwok's
 * kustomize/stage/pod/general/pod-ready.yaml shows the same fields a controller reads.
 */
import type { V1ContainerState, V1ContainerStatus, V1PodCondition, V1PodStatus } from "@kubernetes/client-node";
import type { ContainerInfo, PodInfo } from "../pod-info.ts";

export interface StatusInput {
  info: PodInfo;
  /** The node's address: status.hostIP. */
  hostIp: string;
  /** The conditions the API server holds now (PodScheduled is the scheduler's, kept as it is). */
  current: readonly V1PodCondition[];
  /** When the agent first saw the pod: status.startTime. */
  startTime: Date;
  /** The time a condition that changes now is stamped with. */
  now: Date;
  /**
   * Restarts before this agent's run, by container: the containers of a pod an earlier agent ran died
   * with it, and the kubelet counts a container started again as a restart.
   */
  restartBase?: Readonly<Record<string, number>>;
}

const date = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));

/** The terminated state of a run that ended: the kubelet's reasons are Completed (exit 0) and Error. */
function terminated(c: ContainerInfo): V1ContainerState {
  const code = c.exitCode ?? 0;
  return { terminated: { exitCode: code, reason: code === 0 ? "Completed" : "Error", ...(c.signal ? { message: `killed by ${c.signal}` } : {}), startedAt: date(c.startedAt), finishedAt: date(c.finishedAt) } };
}

/**
 * One container's state. A container with no stand-in is Waiting with ErrImageNeverPull, the kubelet's
 * reason for an image that is not on the node and may not be pulled (pkg/kubelet/images/image_manager.go):
 * here no image is ever pulled, and "not on this node" is what a missing stand-in means.
 */
export function containerState(c: ContainerInfo, podPhase: PodInfo["phase"], initsDone: boolean): { state: V1ContainerState; lastState: V1ContainerState } {
  const last = c.restarts > 0 && c.exitCode !== undefined ? terminated(c) : {};
  if (!c.standIn) return { state: { waiting: { reason: "ErrImageNeverPull", message: c.reason ?? "no stand-in" } }, lastState: {} };
  if (c.running) return { state: { running: { startedAt: date(c.startedAt) } }, lastState: last };
  const ended = podPhase === "Terminated" || podPhase === "Terminating" || podPhase === "Failed";
  if (c.exitCode !== undefined && (ended || (c.init && c.exitCode === 0))) return { state: terminated(c), lastState: {} };
  if (c.lastError?.startsWith("CreateContainerConfigError")) return { state: { waiting: { reason: "CreateContainerConfigError", message: c.lastError.replace(/^CreateContainerConfigError: /, "") } }, lastState: last };
  // Exited and waiting out the restart back-off (pkg/kubelet/kuberuntime: ErrCrashLoopBackOff).
  // The stand-in is named: a stack rendered for the image's version may not suit the stand-in's (PgBouncer 1.18 refuses 1.24's settings).
  if (c.exitCode !== undefined) return { state: { waiting: { reason: "CrashLoopBackOff", message: `back-off restarting failed container ${c.name} (image ${c.image} run as ${c.standIn})` } }, lastState: terminated(c) };
  return { state: { waiting: { reason: c.init || initsDone ? "ContainerCreating" : "PodInitializing" } }, lastState: last };
}

function containerStatus(c: ContainerInfo, info: PodInfo, initsDone: boolean, base: number): V1ContainerStatus {
  const { state, lastState } = containerState(c, info.phase, initsDone);
  return {
    name: c.name,
    image: c.image,
    imageID: c.standIn ? `standin://${c.standIn}` : "",
    containerID: c.pid ? `pooling://${c.pid}` : undefined,
    ready: c.standIn !== null && c.ready,
    started: c.running,
    restartCount: base + c.restarts,
    state,
    lastState,
  };
}

/**
 * The pod's phase (getPhase in pkg/kubelet/kubelet_pods.go): Pending until the init containers are done,
 * Running while any container runs, and once terminated Succeeded when every container exited 0, else
 * Failed (a deleted pod with restartPolicy Always ends Failed or Succeeded the same way since 1.27).
 */
export function podPhase(info: PodInfo): "Pending" | "Running" | "Succeeded" | "Failed" {
  if (info.phase === "Failed") return "Failed";
  if (info.phase === "Terminated") {
    const mains = info.containers.filter((c) => !c.init && c.standIn);
    return mains.length > 0 && mains.every((c) => (c.exitCode ?? 0) === 0) ? "Succeeded" : "Failed";
  }
  if (info.phase === "Pending") return "Pending";
  return "Running";
}

function condition(type: string, ok: boolean, current: readonly V1PodCondition[], now: Date, reason?: string): V1PodCondition {
  const status = ok ? "True" : "False";
  const prev = current.find((c) => c.type === type);
  // lastTransitionTime moves only when the status does, as the kubelet's status manager keeps it.
  const lastTransitionTime = prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
  return { type, status, lastTransitionTime, ...(ok || !reason ? {} : { reason }) };
}

/**
 * The whole status. Ready and ContainersReady follow the runner's rule: every container that has a
 * stand-in is ready. A kubelet would hold the pod unready for a container it cannot run; here the
 * PgBouncer exporter sidecar has no Debian stand-in, and its absence is reported on its own status.
 */
export function podStatus(s: StatusInput): V1PodStatus {
  const { info, current, now } = s;
  const inits = info.containers.filter((c) => c.init);
  const mains = info.containers.filter((c) => !c.init);
  const initsDone = info.phase !== "Pending" || (inits.length > 0 && inits.every((c) => !c.standIn || (c.exitCode === 0 && !c.running)));
  const terminal = info.phase === "Terminated" || info.phase === "Failed";
  const ready = !terminal && !info.terminating && info.ready;
  const phase = podPhase(info);
  return {
    phase,
    hostIP: s.hostIp,
    // The lists are replaced, not merged by ip (their patch strategy): a pod run again gets a new address.
    hostIPs: [{ $patch: "replace" } as never, { ip: s.hostIp }],
    ...(info.ip ? { podIP: info.ip, podIPs: [{ $patch: "replace" } as never, { ip: info.ip }] } : {}),
    startTime: s.startTime,
    conditions: [
      ...current.filter((c) => c.type === "PodScheduled"),
      condition("Initialized", initsDone, current, now, "ContainersNotInitialized"),
      condition("ContainersReady", ready, current, now, "ContainersNotReady"),
      condition("Ready", ready, current, now, "ContainersNotReady"),
    ],
    initContainerStatuses: inits.map((c) => containerStatus(c, info, initsDone, s.restartBase?.[c.name] ?? 0)),
    containerStatuses: mains.map((c) => containerStatus(c, info, initsDone, s.restartBase?.[c.name] ?? 0)),
  };
}
