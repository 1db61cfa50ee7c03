/**
 * A load-generator process: builds the simulated app instances of one job, waits for "go", runs the
 * request loops until the deadline, lets in-flight requests finish, and reports its figures. It never
 * outlives the parent: a lost IPC channel ends it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ErrorCounts } from "./errors.ts";
import { Histogram } from "./histogram.ts";
import { createInstance, type Instance, type Timings } from "./modes.ts";
import { cpusAllowed } from "./procfs.ts";
import type { FromWorker, Job, ToWorker, WorkerResult } from "./protocol.ts";

function send(msg: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, undefined, () => resolve());
  });
}

class Load {
  private readonly latency = new Histogram();
  private readonly acquire = new Histogram();
  private readonly errors = new ErrorCounts();
  private readonly instances: Instance[];
  private readonly timings: Timings;
  private completed = 0;
  private connections = 0;
  private stopped = false;
  private inFlight = 0;

  constructor(private readonly job: Job) {
    this.timings = {
      acquired: (ms) => this.acquire.record(ms),
      connected: () => this.connections++,
    };
    this.instances = Array.from({ length: job.instances }, (_, i) => createInstance(job, this.timings, i));
  }

  stop(): void {
    this.stopped = true;
  }

  private async loop(instance: Instance, deadline: number): Promise<void> {
    while (!this.stopped && performance.now() < deadline) {
      const started = performance.now();
      this.inFlight++;
      try {
        await instance.run(this.timings);
        this.latency.record(performance.now() - started);
        this.completed++;
      } catch (err) {
        this.errors.add(err);
        // Jittered so that thousands of failing loops do not retry in lockstep.
        await sleep(this.job.errorBackoffMs * (0.5 + Math.random()));
      } finally {
        this.inFlight--;
      }
    }
  }

  async run(): Promise<WorkerResult> {
    const { job } = this;
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    const deadline = started + job.durationMs;
    const loops = Array.from({ length: job.clients }, (_, i) => this.loop(this.instances[i % this.instances.length]!, deadline));
    const all = Promise.all(loops);
    await Promise.race([all, sleep(job.durationMs + job.drainMs)]);
    this.stopped = true;
    const elapsedMs = performance.now() - started;
    const unfinished = this.inFlight;
    const cpu = process.cpuUsage(cpuStart);
    return {
      pid: process.pid,
      completed: this.completed,
      errorsByKind: this.errors.byKind,
      errorSamples: this.errors.samples,
      latency: this.latency.encode(),
      acquire: this.acquire.encode(),
      connectionsOpened: this.connections,
      elapsedMs,
      unfinished,
      cpuMs: (cpu.user + cpu.system) / 1000,
      maxRssKb: process.resourceUsage().maxRSS,
      cpusAllowed: cpusAllowed(),
    };
  }

  async close(): Promise<void> {
    await Promise.race([Promise.allSettled(this.instances.map((i) => i.close())), sleep(3000)]);
  }
}

function main(): void {
  let load: Load | undefined;
  // Ctrl-C reaches the whole process group; the parent decides, this process only stops its loops.
  process.on("SIGINT", () => load?.stop());
  process.on("disconnect", () => process.exit(0));
  process.on("message", (msg: ToWorker) => {
    if (msg.type === "job") {
      try {
        load = new Load(msg.job);
        void send({ type: "ready", pid: process.pid });
      } catch (err) {
        void send({ type: "failed", message: (err as Error).message }).then(() => process.exit(1));
      }
    } else if (msg.type === "go" && load) {
      const l = load;
      void l
        .run()
        .then((result) => send({ type: "result", result }))
        .catch((err: unknown) => send({ type: "failed", message: (err as Error).message }))
        .then(() => l.close())
        .finally(() => process.exit(0));
    } else if (msg.type === "stop") {
      load?.stop();
    }
  });
}

main();
