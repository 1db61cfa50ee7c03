/**
 * Runs one job on several load-generator processes at once: spawn, wait until every one has built its
 * instances, start them together, gather and merge their figures. Children are tracked so that an
 * interrupted run can end every one of them.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ErrorCounts } from "./errors.ts";
import { Histogram } from "./histogram.ts";
import type { FromWorker, Job, ToWorker, WorkerResult } from "./protocol.ts";

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));
const READY_TIMEOUT_MS = 30_000;
/** Beyond the job's own duration and drain time: start-up, closing, and reporting. */
const RESULT_SLACK_MS = 15_000;

const live = new Set<ChildProcess>();

/** Ends every load generator still running (interrupt, failure); idempotent. */
export function killAllWorkers(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  live.clear();
}

export interface LoadResult {
  completed: number;
  errorsByKind: Record<string, number>;
  errorSamples: Record<string, string>;
  latency: Histogram;
  acquire: Histogram;
  connectionsOpened: number;
  elapsedMs: number;
  unfinished: number;
  cpuSeconds: number;
  /** Peak resident memory of each load process, KiB. */
  rssKb: number[];
  cpusAllowed: string[];
  pids: number[];
}

/** n split into `parts` near-equal non-negative integers. */
export function split(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

class WorkerProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly result: Promise<WorkerResult>;

  constructor(job: Job) {
    this.child = fork(WORKER, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "inherit", "ipc"] });
    live.add(this.child);
    this.child.once("exit", () => live.delete(this.child));
    const exited = new Promise<never>((_, reject) =>
      this.child.once("exit", (code, signal) => reject(new Error(`load generator ${this.child.pid} exited (${signal ?? `code ${code}`}) before reporting`))),
    );
    exited.catch(() => undefined);
    const message = <T extends FromWorker["type"]>(type: T) =>
      Promise.race([
        new Promise<Extract<FromWorker, { type: T }>>((resolve, reject) => {
          const on = (msg: FromWorker) => {
            if (msg.type === "failed") reject(new Error(`load generator failed: ${msg.message}`));
            else if (msg.type === type) resolve(msg as Extract<FromWorker, { type: T }>);
            else return;
            this.child.off("message", on);
          };
          this.child.on("message", on);
        }),
        exited,
      ]);
    this.ready = message("ready").then(() => undefined);
    this.result = message("result").then((m) => m.result);
    this.ready.catch(() => undefined);
    this.result.catch(() => undefined);
    this.send({ type: "job", job });
  }

  send(msg: ToWorker): void {
    if (this.child.connected) this.child.send(msg);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000}s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Runs `job` with its instances and clients spread over `processes` children. `onStart` is called the
 * moment before the load begins (the sampler starts there); `signal` stops the loops early.
 */
export async function runLoad(job: Job, processes: number, onStart: () => Promise<void>, signal: AbortSignal): Promise<LoadResult> {
  const n = Math.max(1, Math.min(processes, job.instances));
  const instances = split(job.instances, n);
  const clients = split(job.clients, n);
  const workers = instances.map((k, i) => new WorkerProcess({ ...job, instances: k, clients: clients[i] ?? 0 }));
  const stop = () => {
    for (const w of workers) w.send({ type: "stop" });
    setTimeout(() => workers.forEach((w) => w.child.kill("SIGKILL")), 5000).unref();
  };
  signal.addEventListener("abort", stop, { once: true });
  try {
    await withTimeout(Promise.all(workers.map((w) => w.ready)), READY_TIMEOUT_MS, "starting the load generators");
    signal.throwIfAborted();
    await onStart();
    for (const w of workers) w.send({ type: "go" });
    const results = await withTimeout(Promise.all(workers.map((w) => w.result)), job.durationMs + job.drainMs + RESULT_SLACK_MS, "the load run");
    return mergeResults(results);
  } finally {
    signal.removeEventListener("abort", stop);
    for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
  }
}

export function mergeResults(results: WorkerResult[]): LoadResult {
  const errorsByKind: Record<string, number> = {};
  const errorSamples: Record<string, string> = {};
  const latency = new Histogram();
  const acquire = new Histogram();
  for (const r of results) {
    ErrorCounts.merge(errorsByKind, r.errorsByKind);
    Object.assign(errorSamples, r.errorSamples);
    latency.merge(r.latency);
    acquire.merge(r.acquire);
  }
  const sum = (f: (r: WorkerResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return {
    completed: sum((r) => r.completed),
    errorsByKind,
    errorSamples,
    latency,
    acquire,
    connectionsOpened: sum((r) => r.connectionsOpened),
    elapsedMs: Math.max(0, ...results.map((r) => r.elapsedMs)),
    unfinished: sum((r) => r.unfinished),
    cpuSeconds: sum((r) => r.cpuMs) / 1000,
    rssKb: results.map((r) => r.maxRssKb),
    cpusAllowed: results.map((r) => r.cpusAllowed),
    pids: results.map((r) => r.pid),
  };
}
