/**
 * One run of a container: its PID 1 in new mount, PID, UTS and IPC namespaces inside the pod's network
 * namespace, started as
 *
 *   setpriv --pdeathsig KILL -- nsenter --net=NETNS -- unshare --pid --mount --uts --ipc --fork --kill-child -- /bin/sh -c 'eval "$(cat <&3)"'
 *
 * with the setup script (pods/rootfs.ts) sent on fd 3, never on a command line or in a file. No orphan
 * survives the runner: unshare dies with the runner (parent-death signal), PID 1 dies with unshare
 * (--kill-child, re-armed by setpriv after the uid change clears it), and the kernel kills everything else
 * in a PID namespace whose PID 1 is gone (pid_namespaces(7)).
 *
 * Standard streams: stdin /dev/null, stdout and stderr appended to the container's log (fd 1 and fd 4,
 * which the script makes its stderr just before exec), fd 2 a pipe that carries the runtime's own errors
 * (setup failures, unshare's messages) to the runner.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Socket } from "node:net";
import { ContainerStartError } from "./errors.ts";
import { childrenOf } from "./proc.ts";
import { setupScript, type RootfsSpec } from "./rootfs.ts";

export interface ExitStatus {
  /** As Kubernetes reports it: the exit code, or 128 + the signal number for a signal. */
  exitCode: number;
  signal: NodeJS.Signals | null;
  at: number;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/**
 * unshare (util-linux 2.38) re-raises a signal that ended its child on itself, except SIGKILL, which it
 * cannot reset: it prints "sigprocmask unblock failed" and exits 1. Its stderr is ours alone (the
 * container's goes to the log), so that message means PID 1 was SIGKILLed.
 */
function exitStatus(code: number | null, signal: NodeJS.Signals | null, runtimeStderr: string): ExitStatus {
  if (signal) return { exitCode: 128 + (SIGNALS[signal] ?? 0), signal, at: Date.now() };
  if (code === 1 && /sigprocmask unblock failed/.test(runtimeStderr)) return { exitCode: 137, signal: "SIGKILL", at: Date.now() };
  return { exitCode: code ?? 0, signal: null, at: Date.now() };
}

/**
 * Resolves once PID 1 has chroot'ed into the container's root (or has gone): the word "ready" comes just
 * before that exec, and an exec (nsenter -r) into a PID 1 still at the node's root would run there.
 */
async function chrooted(pid: number): Promise<void> {
  const host = statSync("/");
  for (let i = 0; i < 2_000; i++) {
    try {
      const root = statSync(`/proc/${pid}/root/`);
      if (root.dev !== host.dev || root.ino !== host.ino) return;
    } catch {
      return; // gone: its exit status tells the rest
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

export class ContainerProcess {
  /** The host pid of the container's PID 1. */
  readonly pid: number;
  readonly startedAt: number;
  /** Resolves once PID 1 has exited (and with it the namespace). */
  readonly exited: Promise<ExitStatus>;
  private status: ExitStatus | undefined;

  private constructor(
    private readonly child: ChildProcess,
    pid: number,
    exited: Promise<ExitStatus>,
  ) {
    this.pid = pid;
    this.startedAt = Date.now();
    this.exited = exited.then((s) => (this.status = s));
  }

  get running(): boolean {
    return this.status === undefined;
  }

  /** Sends a signal to PID 1. From outside its namespace, only a signal PID 1 handles (or SIGKILL) has an effect. */
  signal(sig: NodeJS.Signals): void {
    // pid -1 (PID 1 gone before it was seen) must never reach kill(2): -1 means every process.
    if (!this.running || this.pid <= 0) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // exited meanwhile
    }
  }

  /**
   * Starts the container and resolves when its command is about to be exec'ed as PID 1; rejects with
   * ContainerStartError (the runtime's message) when the setup fails or the command is not found.
   */
  static start(opts: { netnsPath: string; logPath: string; rootfs: RootfsSpec; startTimeoutMs?: number }): Promise<ContainerProcess> {
    mkdirSync(opts.rootfs.mountDir, { recursive: true });
    mkdirSync(dirname(opts.logPath), { recursive: true });
    const log = openSync(opts.logPath, "a", 0o640);
    let child: ChildProcess;
    try {
      child = spawn(
        "setpriv",
        ["--pdeathsig", "KILL", "--", "nsenter", `--net=${opts.netnsPath}`, "--", "unshare", "--pid", "--mount", "--uts", "--ipc", "--fork", "--kill-child", "--", "/bin/sh", "-c", 'eval "$(cat <&3)"'],
        { stdio: ["ignore", log, "pipe", "pipe", log], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
      );
    } finally {
      closeSync(log);
    }
    const control = child.stdio[3] as Socket;
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<ExitStatus>((resolve) => child.on("close", (code, signal) => resolve(exitStatus(code, signal, stderr))));
    control.on("error", () => undefined); // a setup that dies early closes it under us; its exit says why

    return new Promise<ContainerProcess>((resolve, reject) => {
      let said = "";
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new ContainerStartError(`the container did not start within ${opts.startTimeoutMs ?? 30_000} ms: ${stderr.trim()}`));
      }, opts.startTimeoutMs ?? 30_000);
      control.setEncoding("utf8").on("data", (d: string) => {
        said += d;
        if (!said.includes("ready\n")) return;
        clearTimeout(timer);
        const pid = childrenOf(child.pid!)[0];
        if (pid === undefined) {
          // PID 1 already gone between its word and our look: still a run, its exit status tells.
          resolve(new ContainerProcess(child, -1, exited));
          return;
        }
        void chrooted(pid).then(() => resolve(new ContainerProcess(child, pid, exited)));
      });
      void exited.then((s) => {
        clearTimeout(timer);
        if (!said.includes("ready\n")) reject(new ContainerStartError(stderr.trim() === "" ? `the container's setup exited with ${s.exitCode}` : stderr.trim(), s.exitCode));
      });
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(new ContainerStartError(`could not run setpriv/nsenter/unshare: ${err.message}`));
      });
      control.end(setupScript(opts.rootfs));
    });
  }

  /** SIGKILLs PID 1 (and so the namespace); resolves when it is gone. */
  async kill(): Promise<ExitStatus> {
    this.signal("SIGKILL");
    if (this.pid === -1) this.child.kill("SIGKILL");
    return this.exited;
  }
}
