/**
 * A process run inside a running container, as the CRI's Exec/ExecSync does for probes, lifecycle hooks
 * and `kubectl exec`: the container's namespaces and root (nsenter -t PID1 -m -u -i -n -p -r), its user,
 * groups and capabilities (setpriv, as PID 1 got them), its environment and working directory
 * (env -i -C), a timeout after which the whole process tree is killed (containerd kills an ExecSync that
 * outlives its timeout).
 * Its own spawn, not execa (which net-exec.ts and proc.ts run tools with): execa's `timeout` signals only
 * the process it started, here nsenter, whose child in the container's PID namespace would live on, so
 * a timeout here kills the whole tree (killTree); and execa's `maxBuffer` fails the run and destroys the
 * stream (error.isMaxBuffer; execa 9, lib/io/max-buffer.js), where a probe's output past `maxOutput`
 * is dropped while the command runs to its end, as the kubelet's prober keeps only its first bytes.
 */
import { spawn } from "node:child_process";
import { ExecError } from "./errors.ts";
import { isAlive, killTree } from "./proc.ts";
import { setprivArgs, type ProcessIdentity } from "./rootfs.ts";

export interface ExecTarget {
  /** Host pid of the container's PID 1. */
  pid: number;
  identity: ProcessIdentity;
  env: ReadonlyArray<[string, string]>;
  workingDir: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExecOptions {
  stdin?: string;
  timeoutMs?: number;
  /** Bytes kept of each stream; the kubelet keeps 10 KiB of a probe's output (prober maxReadLength). */
  maxOutput?: number;
}

export function execInContainer(target: ExecTarget, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (!isAlive(target.pid)) return Promise.reject(new ExecError(`container process ${target.pid} is not running`));
  if (argv.length === 0) return Promise.reject(new ExecError("exec needs a command"));
  const args = [
    "-t",
    String(target.pid),
    "-m",
    "-u",
    "-i",
    "-n",
    "-p",
    "-r",
    "--",
    "/usr/bin/setpriv",
    ...setprivArgs(target.identity),
    "--",
    "/usr/bin/env",
    "-i",
    "-C",
    target.workingDir,
    ...target.env.map(([k, v]) => `${k}=${v}`),
    ...argv,
  ];
  const max = opts.maxOutput ?? 16 * 2 ** 20;
  return new Promise((resolve, reject) => {
    // nsenter forks into the PID namespace and waits; its own death would not stop the child, so a
    // timeout kills the whole tree below it.
    const child = spawn("nsenter", args, { stdio: ["pipe", "pipe", "pipe"], env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on("data", (b: Buffer) => {
      if (outLen < max) out.push(b.subarray(0, max - outLen));
      outLen += b.length;
    });
    child.stderr.on("data", (b: Buffer) => {
      if (errLen < max) err.push(b.subarray(0, max - errLen));
      errLen += b.length;
    });
    child.stdin.on("error", () => undefined); // a command that does not read its stdin
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            killTree(child.pid!);
          }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new ExecError(`could not run nsenter: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString("utf8");
      if (code !== null && code !== 0 && /^nsenter: /m.test(stderr) && !isAlive(target.pid)) {
        reject(new ExecError(`container process ${target.pid} is gone: ${stderr.trim()}`));
        return;
      }
      const sig = signal ? (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 }) as Record<string, number>)[signal] ?? 0 : 0;
      resolve({ code: code ?? 128 + sig, stdout: Buffer.concat(out).toString("utf8"), stderr, timedOut });
    });
    child.stdin.end(opts.stdin ?? "");
  });
}
