/**
 * Probes as the kubelet runs them (pkg/kubelet/prober): exec inside the container, tcpSocket and httpGet
 * from the node to the pod's address; a worker per probe that probes at once and then every period,
 * skips until initialDelaySeconds and, for readiness and liveness, until the startup probe succeeded,
 * and changes the container's state only after failureThreshold failures or successThreshold successes
 * in a row (worker.go doProbe).
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { ExecResult } from "./exec.ts";
import type { HttpGetAction, Probe, TcpSocketAction } from "./k8s.ts";

export type ProbeKind = "startup" | "readiness" | "liveness";

/** What a probe or a lifecycle handler reaches: the container (exec) and the pod's address (from the node). */
export interface ProbeTarget {
  exec(argv: string[], timeoutMs: number): Promise<ExecResult>;
  podIp: string;
  port(port: number | string): number | undefined;
  /** The network's guard: probes never leave the machine. */
  assertOwnAddress(ip: string): void;
}

export interface ProbeOutcome {
  ok: boolean;
  output: string;
}

/** pkg/probe/http: 10 KiB of body read; 200 <= status < 400 succeeds. */
const MAX_BODY = 10 * 1024;

export function httpGet(action: HttpGetAction, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const host = action.host ?? target.podIp;
  const port = target.port(action.port);
  if (port === undefined) return Promise.resolve({ ok: false, output: `port ${action.port} is not a port of this pod` });
  target.assertOwnAddress(host);
  const https = (action.scheme ?? "HTTP").toUpperCase() === "HTTPS";
  const headers: Record<string, string> = { "User-Agent": "kube-probe/1.33", Accept: "*/*" };
  for (const h of action.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const req = (https ? httpsRequest : httpRequest)({ host, port, path: action.path ?? "/", method: "GET", headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => {
        if (body.length < MAX_BODY) body += d.slice(0, MAX_BODY - body.length);
      });
      res.on("end", () => {
        const code = res.statusCode ?? 0;
        resolve({ ok: code >= 200 && code < 400, output: `HTTP probe ${code >= 200 && code < 400 ? "succeeded" : "failed"} with statuscode: ${code}${code >= 400 && body ? `: ${body.trim()}` : ""}` });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`Get "http://${host}:${port}${action.path ?? "/"}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
    req.on("error", (e) => resolve({ ok: false, output: e.message }));
    req.end();
  });
}

export function tcpSocket(action: TcpSocketAction, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const host = action.host ?? target.podIp;
  const port = target.port(action.port);
  if (port === undefined) return Promise.resolve({ ok: false, output: `port ${action.port} is not a port of this pod` });
  target.assertOwnAddress(host);
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (o: ProbeOutcome) => {
      sock.destroy();
      resolve(o);
    };
    sock.setTimeout(timeoutMs, () => done({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` }));
    sock.on("connect", () => done({ ok: true, output: "" }));
    sock.on("error", (e) => done({ ok: false, output: `dial tcp ${host}:${port}: ${e.message}` }));
  });
}

export async function runProbe(probe: Probe, target: ProbeTarget): Promise<ProbeOutcome> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.exec) {
      // The API refuses an exec probe without a command.
      const r = await target.exec(probe.exec.command ?? [], timeoutMs);
      if (r.timedOut) return { ok: false, output: `command timed out after ${probe.timeoutSeconds ?? 1}s` };
      return { ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim() || (r.code === 0 ? "" : `exit code ${r.code}`) };
    }
    if (probe.httpGet) return await httpGet(probe.httpGet, target, timeoutMs);
    if (probe.tcpSocket) return await tcpSocket(probe.tcpSocket, target, timeoutMs);
  } catch (err) {
    return { ok: false, output: (err as Error).message };
  }
  return { ok: false, output: "probe type not supported by the pod runner (exec, httpGet, tcpSocket)" };
}

/**
 * One probe of one container run. `onResult` is called when the result the kubelet keeps changes state
 * (after the thresholds); `onAttempt` after every probe, for events.
 */
export class ProbeWorker {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running = false;
  private lastResult: boolean | undefined;
  private resultRun = 0;
  private onHold = false;
  private nextAt = 0;

  constructor(
    readonly kind: ProbeKind,
    private readonly probe: Probe,
    private readonly target: ProbeTarget,
    private readonly startedAt: number,
    private readonly containerStarted: () => boolean,
    private readonly onResult: (ok: boolean, output: string) => void,
    private readonly onAttempt: (ok: boolean, output: string) => void,
  ) {}

  private get periodMs(): number {
    return (this.probe.periodSeconds ?? 10) * 1000;
  }

  start(): void {
    this.nextAt = Date.now();
    this.tick();
  }

  /** The manager's manual trigger: readiness probes once the startup probe succeeded. */
  trigger(): void {
    if (this.stopped || this.running) return;
    clearTimeout(this.timer);
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = true;
    void this.doProbe().finally(() => {
      this.running = false;
      if (this.stopped) return;
      // A ticker: the next probe at the next period boundary; a probe longer than a period loses the ticks it spanned.
      const now = Date.now();
      do this.nextAt += this.periodMs;
      while (this.nextAt < now - this.periodMs);
      this.timer = setTimeout(() => this.tick(), Math.max(0, this.nextAt - now));
    });
  }

  private async doProbe(): Promise<void> {
    if (this.onHold) return;
    // Truncated seconds, as worker.go compares int32(time.Since(startedAt).Seconds()).
    if (Math.floor((Date.now() - this.startedAt) / 1000) < (this.probe.initialDelaySeconds ?? 0)) return;
    if (this.kind === "startup" ? this.containerStarted() : !this.containerStarted()) return;
    const { ok, output } = await runProbe(this.probe, this.target);
    if (this.stopped) return;
    this.onAttempt(ok, output);
    if (this.lastResult === ok) this.resultRun++;
    else {
      this.lastResult = ok;
      this.resultRun = 1;
    }
    if ((!ok && this.resultRun < (this.probe.failureThreshold ?? 3)) || (ok && this.resultRun < (this.probe.successThreshold ?? 1))) return;
    this.onResult(ok, output);
    if (!ok && this.kind !== "readiness") {
      // The container will be restarted: stop probing this run (worker.go onHold).
      this.onHold = true;
      this.resultRun = 0;
    }
  }
}
