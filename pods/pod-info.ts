/**
 * What the checks and the report read of a pod and its containers: a snapshot, never live objects.
 */
import type { ContainerSupervisor } from "./supervisor.ts";

export interface ContainerInfo {
  name: string;
  image: string;
  init: boolean;
  /** What stood in for the image; null: not run, `reason` says why (the pod's readiness ignores it). */
  standIn: string | null;
  reason?: string;
  /** Host pid of the current run's PID 1. */
  pid?: number;
  /** When the current run (or, stopped, the last one) started and, stopped, ended (epoch ms). */
  startedAt?: number;
  finishedAt?: number;
  running: boolean;
  ready: boolean;
  restarts: number;
  /**
   * From the start of the pod's termination to this container's exit; with `killed`, only for a container
   * that was running when the termination began (not for a completed init container, nor one waiting in back-off).
   */
  exitSeconds?: number;
  exitCode?: number;
  signal?: string | null;
  /** SIGKILL was needed at the end of the grace period. */
  killed?: boolean;
  /** The last probe failure or start error. */
  lastError?: string;
  /** The image ENTRYPOINT/CMD the container relied on (the project wants none to). */
  reliedOnImage?: string[];
}

export interface PodInfo {
  name: string;
  namespace: string;
  workload: string;
  kind: string;
  /** The pod's address; "" until the network has given it one. */
  ip: string;
  phase: "Pending" | "Running" | "Failed" | "Terminating" | "Terminated";
  ready: boolean;
  everReady: boolean;
  terminating: boolean;
  /** From the pod's start to its first Ready. */
  readySeconds?: number;
  restarts: number;
  containers: ContainerInfo[];
  /** From the start of termination until every container had exited. */
  terminationSeconds?: number;
  graceSeconds: number;
  startedAt: number;
}

export function containerInfo(s: ContainerSupervisor): ContainerInfo {
  const t = s.termination;
  const last = s.lastStatus;
  const running = s.proc?.running ?? false;
  return {
    name: s.name,
    image: s.spec.image ?? "",
    init: s.init,
    standIn: s.resolution.standIn?.description ?? null,
    ...(s.resolution.standIn ? {} : { reason: s.resolution.reason }),
    ...(running ? { pid: s.proc!.pid } : {}),
    ...(s.proc ? { startedAt: s.proc.startedAt } : {}),
    ...(last && !running ? { finishedAt: last.at } : {}),
    running,
    ready: s.ready,
    restarts: s.restarts,
    ...(t ? { exitSeconds: t.exitSeconds, exitCode: t.exitCode, signal: t.signal, killed: t.killed } : last && !running ? { exitCode: last.exitCode, signal: last.signal } : {}),
    ...(s.lastError ? { lastError: s.lastError } : {}),
    ...(s.config?.relied.length ? { reliedOnImage: s.config.relied } : {}),
  };
}
