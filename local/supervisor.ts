/**
 * Runs one server process like a kubelet would: start it, wait until it answers, restart it with
 * backoff when it dies on its own, and stop it (signal, then SIGKILL after a grace period) when asked.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

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
}

export type Log = (msg: string) => void;

const BACKOFF_START_MS = 250;
const BACKOFF_MAX_MS = 10_000;
/** Running this long without a crash resets the backoff. */
const STABLE_MS = 10_000;

export class Service {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private backoffMs = BACKOFF_START_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private log: WriteStream;
  /** Restarts after unexpected exits, for tests and status output. */
  restarts = 0;

  constructor(
    private spec: ServiceSpec,
    private say: Log,
  ) {
    this.log = createWriteStream(spec.logFile, { flags: "a" });
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Replaces the command line or readiness check used by the next (re)start. */
  update(spec: Partial<Omit<ServiceSpec, "name" | "logFile">>): void {
    this.spec = { ...this.spec, ...spec };
  }

  async start(): Promise<void> {
    this.stopping = false;
    const { command, args, env, cwd, uid, gid } = this.spec;
    const child = spawn(command, args, { env, cwd, uid, gid, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.startedAt = Date.now();
    let buffered = "";
    const onData = (chunk: Buffer) => {
      this.log.write(chunk);
      if (!this.spec.onLine) return;
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) this.spec.onLine(line);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    const spawnError = new Promise<never>((_, reject) => child.once("error", reject));
    this.exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        resolve();
        if (this.child === child) this.child = undefined;
        if (!this.stopping) this.onCrash(code, signal);
      });
    });
    const abort = new AbortController();
    const timeoutMs = this.spec.readyTimeoutMs ?? 30_000;
    const timer = setTimeout(() => abort.abort(new Error(`${this.name} was not ready within ${timeoutMs / 1000}s (log: ${this.spec.logFile})`)), timeoutMs);
    try {
      await Promise.race([
        this.spec.ready(abort.signal),
        spawnError,
        this.exited.then(() => {
          throw new Error(`${this.name} exited during start-up (log: ${this.spec.logFile})`);
        }),
        new Promise<never>((_, reject) => abort.signal.addEventListener("abort", () => reject(abort.signal.reason as Error))),
      ]);
    } catch (err) {
      abort.abort(err);
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
      abort.abort(new Error("done"));
    }
  }

  private onCrash(code: number | null, signal: NodeJS.Signals | null) {
    if (Date.now() - this.startedAt > STABLE_MS) this.backoffMs = BACKOFF_START_MS;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.say(`${this.name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000}s`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.start().then(
        () => this.say(`${this.name} is back (pid ${this.pid})`),
        (err: Error) => this.say(`${this.name} restart failed: ${err.message}`),
      );
    }, delay);
  }

  /** Sends a signal to the running process, if any (SIGHUP to reload, SIGSTOP in fault tests...). */
  kill(signal: NodeJS.Signals): boolean {
    return this.child?.kill(signal) ?? false;
  }

  /** Graceful stop, then SIGKILL after the grace period. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
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

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((resolve) => this.log.end(resolve));
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
