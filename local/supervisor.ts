/**
 * Runs one server process like a kubelet would: start it, wait until it answers, restart it with
 * backoff when it dies on its own, and stop it (signal, then SIGKILL after a grace period) when asked.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { Backoff } from "../lib/backoff.ts";
import { createWriteStream, type WriteStream } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { ServiceStartError } from "./errors.ts";
import { parentDeathWrapper } from "./system.ts";

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user (PostgreSQL and PgBouncer refuse root). */
  uid?: number;
  gid?: number;
  /** Resolves once the service answers; rejects if it never does within the timeout. */
  ready: (signal: AbortSignal) => Promise<void>;
  readyTimeoutMs?: number;
  /** Signal for a graceful stop: postgres wants SIGINT (fast shutdown), others SIGTERM. */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
  /** Where stdout and stderr go (appended). */
  logFile: string;
  /** Called with each line the process prints, after the file. */
  onLine?: (line: string) => void;
  /** Called with the pid of each process spawned (first start and every restart). */
  onSpawn?: (pid: number) => void;
}

export type Log = (msg: string) => void;

/** Restarts wait 250 ms, doubling to 10 s (lib/backoff.ts). */
const RESTART_BACKOFF = { initialMs: 250, maxMs: 10_000 } as const;
/** Running this long without a crash resets the backoff. */
const STABLE_MS = 10_000;

export class Service {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Set by stop(): no restart may happen after it. */
  private stopping = false;
  /** While start() waits for readiness it handles an exit itself; the crash path must not also. */
  private starting = false;
  private readonly backoff = new Backoff(RESTART_BACKOFF);
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private readonly log: WriteStream;
  /** Restarts after unexpected exits, for tests and status output. */
  restarts = 0;

  constructor(
    private spec: ServiceSpec,
    private readonly say: Log,
  ) {
    this.log = createWriteStream(spec.logFile, { flags: "a" });
    this.log.on("error", (err) => this.say(`${spec.name}: cannot write its log ${spec.logFile}: ${err.message}`));
  }

  get name(): string {
    return this.spec.name;
  }

  get stopSignal(): NodeJS.Signals {
    return this.spec.stopSignal ?? "SIGTERM";
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Replaces the command line or readiness check used by the next (re)start. */
  update(spec: Partial<Omit<ServiceSpec, "name" | "logFile">>): void {
    this.spec = { ...this.spec, ...spec };
  }

  /** Copies output to the log file and hands whole lines (per stream) to onLine. */
  private pipe(stream: NodeJS.ReadableStream | null): void {
    let buffered = "";
    stream?.on("data", (chunk: Buffer) => {
      // Output can still arrive after close() ended the log (e.g. from a child the server forked).
      if (!this.log.writableEnded) this.log.write(chunk);
      if (!this.spec.onLine) return;
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) this.spec.onLine(line);
    });
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.starting = true;
    const { env, cwd, uid, gid } = this.spec;
    // Its own process group: a Ctrl-C in the terminal reaches only the supervisor, which then stops
    // the servers in order (clients first) instead of every process dying at once. Being in its own
    // group also means nothing sent to ours reaches it, so it must die with us by other means: a
    // parent-death signal, set after the switch to the server user (a uid change clears it) and kept
    // across exec, so the server itself is the process that gets it.
    const [command, ...args] = parentDeathWrapper([this.spec.command, ...this.spec.args]);
    const child = spawn(command!, args, { env, cwd, uid, gid, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    if (child.pid !== undefined) this.spec.onSpawn?.(child.pid);
    this.startedAt = Date.now();
    this.pipe(child.stdout);
    this.pipe(child.stderr);
    let spawnFailed: (err: Error) => void = () => undefined;
    const spawnError = new Promise<never>((_, reject) => (spawnFailed = reject));
    this.exited = new Promise<void>((resolve) => {
      const gone = () => {
        resolve();
        if (this.child === child) this.child = undefined;
      };
      child.once("exit", (code, signal) => {
        gone();
        if (!this.stopping && !this.starting) this.onCrash(code, signal);
      });
      // A process that could not be spawned (ENOENT, EACCES) emits 'error' and never 'exit'.
      child.once("error", (err) => {
        if (child.pid === undefined) gone();
        spawnFailed(err);
      });
    });
    const abort = new AbortController();
    const timeoutMs = this.spec.readyTimeoutMs ?? 30_000;
    const timer = setTimeout(() => abort.abort(new ServiceStartError(this.name, this.spec.logFile, `was not ready within ${timeoutMs / 1000}s`)), timeoutMs);
    try {
      await Promise.race([
        this.spec.ready(abort.signal),
        spawnError,
        this.exited.then(() => {
          throw new ServiceStartError(this.name, this.spec.logFile, "exited during start-up");
        }),
        new Promise<never>((_, reject) => abort.signal.addEventListener("abort", () => reject(abort.signal.reason as Error))),
      ]);
    } catch (err) {
      abort.abort(err);
      await this.terminate();
      throw err;
    } finally {
      this.starting = false;
      clearTimeout(timer);
      abort.abort(new Error("done"));
    }
  }

  private onCrash(code: number | null, signal: NodeJS.Signals | null) {
    if (Date.now() - this.startedAt > STABLE_MS) this.backoff.reset();
    const delay = this.backoff.next();
    this.say(`${this.name} exited (${signal ?? (code === null ? "did not start" : `code ${code}`)}); restarting in ${delay / 1000}s`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.start().then(
        () => this.say(`${this.name} is back (pid ${this.pid})`),
        (err: Error) => {
          this.say(`${this.name} restart failed: ${err.message}`);
          // Keep trying, with a longer wait each time, until stop() is called.
          if (!this.stopping) this.onCrash(null, null);
        },
      );
    }, delay);
  }

  /** Sends a signal to the running process, if any (SIGHUP to reload, SIGSTOP in fault tests...). */
  kill(signal: NodeJS.Signals): boolean {
    return this.child?.kill(signal) ?? false;
  }

  /** No restart from now on; for a stack stopping its services one after another. */
  beginStop(): void {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }

  /** Graceful stop, then SIGKILL after the grace period; leaves restart policy alone. */
  private async terminate(): Promise<void> {
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill(this.spec.stopSignal ?? "SIGTERM");
      // A stopped (SIGSTOP) process cannot act on the signal until it is continued.
      child.kill("SIGCONT");
      const timeoutMs = this.spec.stopTimeoutMs ?? 10_000;
      const killed = await Promise.race([this.exited.then(() => false), sleep(timeoutMs).then(() => true)]);
      if (killed) {
        this.say(`${this.name} did not stop within ${timeoutMs / 1000}s; sending SIGKILL`);
        child.kill("SIGKILL");
        await this.exited;
      }
    }
    this.child = undefined;
  }

  /** Graceful stop, no restart afterwards. Idempotent. */
  async stop(): Promise<void> {
    this.beginStop();
    await this.terminate();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async close(): Promise<void> {
    await this.stop();
    if (!this.log.writableEnded) await new Promise<void>((resolve) => this.log.end(resolve));
  }
}

/** Retries `attempt` until it succeeds or the signal aborts. */
export async function until(signal: AbortSignal, attempt: () => Promise<unknown>, intervalMs = 100): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    try {
      await attempt();
      return;
    } catch {
      await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }
}
