/**
 * One container of a pod across its runs, as the kubelet manages it: start, probes, restarts with
 * back-off, a liveness or startup failure killed and restarted, lifecycle hooks, and the kill sequence of
 * pkg/kubelet/kuberuntime/kuberuntime_container.go killContainer: preStop (bounded by the grace period),
 * then the image's stop signal, then SIGKILL when the rest of the grace period is spent, never less than
 * minimumGracePeriodInSeconds (2 s) after the signal.
 */
import { Backoff, type BackoffOptions } from "./backoff.ts";
import type { ContainerConfig } from "./container-config.ts";
import { ContainerProcess, type ExitStatus } from "./container.ts";
import { ContainerStartError, EnvSourceError, RunAsNonRootError } from "./errors.ts";
import { execInContainer, type ExecOptions, type ExecResult } from "./exec.ts";
import type { Container, LifecycleHandler } from "./k8s.ts";
import { httpGet, ProbeWorker, type ProbeTarget } from "./probes.ts";
import type { Resolution, StandIn } from "./standins.ts";

export interface PodEvent {
  at: number;
  pod: string;
  container?: string;
  type: "Normal" | "Warning";
  /** The kubelet's event reasons where one exists (Started, Killing, Unhealthy, BackOff, ...). */
  reason: string;
  message: string;
}

/** What a supervisor needs from its pod. */
export interface SupervisorHost {
  podName: string;
  netnsPath(): string;
  restartPolicy: "Always" | "OnFailure" | "Never";
  backoff?: BackoffOptions;
  graceSeconds(): number;
  config(c: Container, standIn: StandIn): ContainerConfig;
  mountDir(container: string, run: number): string;
  logPath(container: string, run: number): string;
  probeTarget(exec: ProbeTarget["exec"]): ProbeTarget;
  prepare(standIn: StandIn): Promise<void>;
  emit(e: Omit<PodEvent, "at" | "pod">): void;
  stateChanged(): void;
}

const MIN_GRACE_SECONDS = 2;

export class ContainerSupervisor {
  restarts = 0;
  ready = false;
  /** The startup probe passed (or there is none) for the current run. */
  started = false;
  proc: ContainerProcess | undefined;
  config: ContainerConfig | undefined;
  lastStatus: ExitStatus | undefined;
  lastError: string | undefined;
  termination: { exitSeconds: number; exitCode: number; signal: NodeJS.Signals | null; killed: boolean } | undefined;
  private stopping = false;
  private runs = 0;
  private wake: (() => void) | undefined;
  private starting: Promise<unknown> = Promise.resolve();
  private probes: ProbeWorker[] = [];
  private unhealthy: ((why: { kind: string; grace: number | undefined }) => void) | undefined;
  private readonly backoff: Backoff;

  constructor(
    private readonly host: SupervisorHost,
    readonly spec: Container,
    readonly resolution: Resolution,
    readonly init: boolean,
  ) {
    this.backoff = new Backoff(host.backoff);
  }

  get name(): string {
    return this.spec.name;
  }

  private emit(type: PodEvent["type"], reason: string, message: string): void {
    this.host.emit({ container: this.name, type, reason, message });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Runs a process inside the current run of this container (probes, hooks, `kubectl exec`). */
  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const { proc, config } = this;
    if (!proc?.running || !config) return Promise.reject(new ContainerStartError(`container ${this.name} is not running`));
    return execInContainer({ pid: proc.pid, identity: config.identity, env: config.env, workingDir: config.workingDir }, argv, opts);
  }

  /** One start: the config (a missing Secret waits, uncounted), the stand-in, the runtime. */
  private async startOnce(standIn: StandIn): Promise<ContainerProcess | "config" | "start"> {
    let config: ContainerConfig;
    try {
      await this.host.prepare(standIn);
      config = this.host.config(this.spec, standIn);
    } catch (err) {
      if (!(err instanceof EnvSourceError || err instanceof RunAsNonRootError || err instanceof ContainerStartError)) throw err;
      this.lastError = `CreateContainerConfigError: ${(err as Error).message}`;
      this.emit("Warning", "Failed", `Error: ${(err as Error).message}`);
      return "config";
    }
    if (config.relied.length) this.emit("Warning", "ImageEntrypoint", `container ${this.name} gives no command and relies on the image's ${config.relied.join(" and ")}`);
    const run = this.runs++;
    try {
      this.config = config;
      this.proc = await ContainerProcess.start({ netnsPath: this.host.netnsPath(), logPath: this.host.logPath(this.name, run), rootfs: { ...config.rootfs, mountDir: this.host.mountDir(this.name, run) } });
    } catch (err) {
      if (!(err instanceof ContainerStartError)) throw err;
      this.lastError = `StartError: ${err.message}${config.relied.length ? ` (the container relies on the image's ${config.relied.join(" and ")}, which the stand-in ${standIn.description} does not have)` : ""}`;
      this.emit("Warning", "Failed", this.lastError);
      return "start";
    }
    // The command as the manifest writes it: expanded, it could carry a Secret's value into the log.
    const written = this.spec.command || this.spec.args ? [...(this.spec.command ?? []), ...(this.spec.args ?? [])] : config.argv;
    this.emit("Normal", "Started", `Started container ${this.name} (pid ${this.proc.pid}, ${JSON.stringify(written).slice(0, 200)})`);
    return this.proc;
  }

  /** Runs until stopped (regular containers) or until an exit 0 (init containers: resolves true; false if stopped or failed for good). */
  async run(): Promise<boolean> {
    const standIn = this.resolution.standIn;
    if (!standIn) return true;
    while (!this.stopping) {
      const starting = this.startOnce(standIn);
      this.starting = starting;
      const proc = await starting;
      if (proc === "config") {
        await this.sleep(5_000); // the kubelet retries a config error on its next sync
        continue;
      }
      const status = proc === "start" ? { exitCode: 128, signal: null, at: Date.now() } : await this.supervise(proc);
      this.lastStatus = status;
      if (this.stopping) break;
      if (this.init && status.exitCode === 0) return true;
      if (this.host.restartPolicy === "Never" || (this.host.restartPolicy === "OnFailure" && status.exitCode === 0)) return false;
      this.restarts++;
      const wait = this.backoff.waitFor(status.at);
      this.emit(wait ? "Warning" : "Normal", wait ? "BackOff" : "Restarting", wait ? `Back-off ${+(wait / 1000).toFixed(1)}s restarting failed container ${this.name}` : `Restarting container ${this.name} (restart ${this.restarts})`);
      if (wait) await this.sleep(wait);
    }
    return false;
  }

  /** One run: probes, postStart, until it exits; a liveness or startup failure kills it first. */
  private async supervise(proc: ContainerProcess): Promise<ExitStatus> {
    const failed = new Promise<{ kind: string; grace: number | undefined }>((resolve) => (this.unhealthy = resolve));
    this.startProbes(proc);
    const post = this.spec.lifecycle?.postStart;
    if (post) {
      const ok = await this.runHandler(post, undefined, proc);
      if (!ok && proc.running) this.unhealthy?.({ kind: "PostStartHook", grace: undefined });
    }
    const first = await Promise.race([proc.exited, failed]);
    if (!("exitCode" in first) && !this.stopping && proc.running) {
      this.emit("Normal", "Killing", `Container ${this.name} failed ${first.kind}, will be restarted`);
      await this.kill(proc, first.grace ?? this.host.graceSeconds());
    }
    const status = await proc.exited;
    this.stopProbes("all");
    this.ready = false;
    this.started = false;
    this.host.stateChanged();
    this.emit(status.exitCode === 0 ? "Normal" : "Warning", "Exited", `Container ${this.name} exited with ${status.signal ?? `code ${status.exitCode}`}`);
    return status;
  }

  private startProbes(proc: ContainerProcess): void {
    const target = this.host.probeTarget((argv, timeoutMs) => this.exec(argv, { timeoutMs, maxOutput: 10 * 1024 }));
    const { startupProbe, readinessProbe, livenessProbe } = this.spec;
    this.started = !startupProbe;
    this.ready = this.started && !readinessProbe && !this.init;
    this.host.stateChanged();
    const attempt = (kind: string) => (ok: boolean, output: string) => {
      if (ok) return;
      this.lastError = `${kind} probe failed: ${output}`;
      this.emit("Warning", "Unhealthy", this.lastError);
    };
    const readiness = readinessProbe && new ProbeWorker("readiness", readinessProbe, target, proc.startedAt, () => this.started, (ok) => this.setReady(ok), attempt("Readiness"));
    if (startupProbe) {
      this.probes.push(
        new ProbeWorker("startup", startupProbe, target, proc.startedAt, () => this.started, (ok) => {
          if (!ok) return this.unhealthy?.({ kind: "startup probe", grace: startupProbe.terminationGracePeriodSeconds });
          this.started = true;
          if (!readinessProbe) this.setReady(true);
          readiness?.trigger();
        }, attempt("Startup")),
      );
    }
    if (readiness) this.probes.push(readiness);
    if (livenessProbe) {
      this.probes.push(new ProbeWorker("liveness", livenessProbe, target, proc.startedAt, () => this.started, (ok) => void (ok || this.unhealthy?.({ kind: "liveness probe", grace: livenessProbe.terminationGracePeriodSeconds })), attempt("Liveness")));
    }
    for (const p of this.probes) p.start();
  }

  private stopProbes(which: "all" | "but-readiness"): void {
    for (const p of this.probes) if (which === "all" || p.kind !== "readiness") p.stop();
    this.probes = which === "all" ? [] : this.probes.filter((p) => p.kind === "readiness");
  }

  private setReady(ok: boolean): void {
    if (this.ready === ok) return;
    this.ready = ok;
    this.host.stateChanged();
  }

  /** A lifecycle handler; resolves whether it succeeded. The kubelet's events name the failure. */
  private async runHandler(h: LifecycleHandler, timeoutMs: number | undefined, proc: ContainerProcess): Promise<boolean> {
    const hook = h === this.spec.lifecycle?.preStop ? "PreStop" : "PostStart";
    let ok = false;
    let output = "";
    if (h.exec) {
      const r = await this.exec(h.exec.command ?? [], timeoutMs === undefined ? {} : { timeoutMs }).catch((e: Error) => ({ code: -1, stdout: "", stderr: e.message, timedOut: false }));
      ok = r.code === 0;
      output = `${r.stdout}${r.stderr}`.trim();
      if (output === "") output = `exit code ${r.code}`;
    } else if (h.httpGet) {
      ({ ok, output } = await httpGet(h.httpGet, this.host.probeTarget(() => Promise.reject(new Error("no exec"))), timeoutMs ?? 30_000));
    } else if (h.sleep) {
      await this.sleep(Math.min(h.sleep.seconds * 1000, timeoutMs ?? Infinity));
      ok = true;
    } else {
      output = "handler type not supported by the pod runner (exec, httpGet, sleep)";
    }
    // A hook that waits for PID 1 to exit (`kill -INT 1; while kill -0 1; ...`) dies with the namespace: that is its end,
    // not a failure. Its exec can return a moment before PID 1's exit is reaped, hence the short wait to tell.
    if (!ok && proc.running) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([proc.exited, new Promise((r) => (t = setTimeout(r, 500)))]);
      clearTimeout(t);
    }
    if (!ok && !proc.running) this.emit("Normal", `${hook}Hook`, `${hook} hook ended with the container (${output})`);
    else if (!ok) this.emit("Warning", `Failed${hook}Hook`, `${hook} hook failed: ${output}`);
    return ok;
  }

  /**
   * killContainer: the preStop hook within the grace period, the stop signal, SIGKILL at the grace period
   * counted from `t0` (the start of the termination), but never sooner than minimumGracePeriodInSeconds
   * after the signal, so a preStop that used the whole grace leaves 2 s. The kubelet subtracts the hook's
   * time in whole seconds (int64(time.Since(start).Seconds())), so on a cluster SIGKILL can come up to a
   * second later than here. Resolves whether SIGKILL was needed.
   */
  private async kill(proc: ContainerProcess, graceSeconds: number, t0 = Date.now()): Promise<boolean> {
    const deadline = t0 + graceSeconds * 1000;
    const preStop = this.spec.lifecycle?.preStop;
    if (preStop && graceSeconds > 0 && proc.running) {
      const budget = Math.max(0, deadline - Date.now());
      this.emit("Normal", "PreStop", `Running the preStop hook of ${this.name} (grace ${graceSeconds}s)`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.runHandler(preStop, budget, proc), new Promise((r) => (timer = setTimeout(r, budget))), proc.exited]);
      clearTimeout(timer);
    }
    if (!proc.running) return false;
    const killAt = Math.max(deadline, Date.now() + MIN_GRACE_SECONDS * 1000);
    const signal = this.config?.stopSignal ?? "SIGTERM";
    this.emit("Normal", "Killing", `Stopping container ${this.name} with ${signal}, SIGKILL in ${((killAt - Date.now()) / 1000).toFixed(1)}s`);
    proc.signal(signal);
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([proc.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), killAt - Date.now())))]);
    clearTimeout(timer);
    if (exited) return false;
    await proc.kill();
    return true;
  }

  /** Pod termination: no more restarts; kill the current run, counting from `t0`; records how it ended. */
  async stop(t0: number, graceSeconds: number): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.starting.catch(() => undefined);
    this.stopProbes("but-readiness");
    const proc = this.proc;
    if (!proc?.running) return;
    const killed = await this.kill(proc, graceSeconds, t0);
    const status = await proc.exited;
    this.stopProbes("all");
    this.termination = { exitSeconds: (status.at - t0) / 1000, exitCode: status.exitCode, signal: status.signal, killed };
  }
}
