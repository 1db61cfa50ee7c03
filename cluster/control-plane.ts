/**
 * The control plane as supervised processes, inside the daemon: etcd, then kube-apiserver once etcd
 * answers, then kube-controller-manager and kube-scheduler once the API server is ready; stopped in the
 * reverse order. Each process is the local stack's Service: restarted with backoff when it dies on its
 * own, given a parent-death signal so it never outlives the daemon, SIGKILLed after a grace period.
 */
import { appendFileSync, chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Service, until, type Log, type ServiceSpec } from "../local/supervisor.ts";
import type { ClusterBinaries } from "./binaries.ts";
import { apiserverArgs, apiserverUrl, controllerManagerArgs, etcdArgs, schedulerArgs } from "./flags.ts";
import { expectOk, tlsClient } from "./http.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { leaseRenewedSince, NODE_AGENT_STOP_MS, nodeAgentCommand, nodeAgentSkipped } from "./node-agent.ts";
import type { ClusterLayout, ClusterPorts } from "./layout.ts";
import { ensurePki, type ClusterPki } from "./pki.ts";
import { ensureServiceRange } from "./service-range.ts";
import { processRef, readRunFile, writeRunFile, type ServiceName } from "./run-file.ts";

export interface ControlPlaneOptions {
  layout: ClusterLayout;
  ports: ClusterPorts;
  bins: ClusterBinaries;
  say: Log;
}

/** Set when stop() came while the start was under way: the start ends without starting anything more. */
export class StartInterrupted extends Error {}

export class ControlPlane {
  private readonly services: Service[] = [];
  private stopping = false;
  private stopped: Promise<void> | undefined;
  /** Components that could not start: the API server runs without them, and `up` says so. */
  readonly failed: Partial<Record<ServiceName, string>> = {};

  constructor(private readonly o: ControlPlaneOptions) {}

  /** Records each spawned pid (first start and every restart) in run.json, for `down` and the next `up`. */
  private recordPid(name: ServiceName, pid: number): void {
    const run = readRunFile(this.o.layout);
    const ref = processRef(pid);
    if (run === undefined || ref === undefined) return;
    writeRunFile(this.o.layout, { ...run, services: { ...run.services, [name]: ref } });
  }

  private spec(name: ServiceName, command: string, args: string[], ready: ServiceSpec["ready"], readyTimeoutMs: number, stopTimeoutMs = 15_000): ServiceSpec {
    return {
      name,
      command,
      args,
      ready,
      readyTimeoutMs,
      stopSignal: "SIGTERM",
      stopTimeoutMs,
      logFile: join(this.o.layout.logDir, `${name}.log`),
      onSpawn: (pid) => this.recordPid(name, pid),
    };
  }

  private async run(spec: ServiceSpec): Promise<void> {
    if (this.stopping) throw new StartInterrupted();
    const svc = new Service(spec, this.o.say);
    this.services.push(svc);
    // The full command line goes to the component's own log, where its errors will be read against it.
    appendFileSync(spec.logFile, `--- ${new Date().toISOString()} ${spec.command} ${spec.args.join(" ")}\n`, { mode: 0o600 });
    this.o.say(`starting ${spec.name} (log: ${spec.logFile})`);
    const t0 = Date.now();
    await svc.start();
    this.o.say(`${spec.name} is ready (pid ${svc.pid}, ${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  }

  /** A component the API server can run without: a failure is recorded and told, not thrown. */
  private async runOptional(spec: ServiceSpec): Promise<void> {
    try {
      await this.run(spec);
    } catch (err) {
      if (err instanceof StartInterrupted) throw err;
      this.failed[spec.name as ServiceName] = (err as Error).message;
      this.o.say(`${spec.name} did not start, the cluster runs without it: ${(err as Error).message}`);
    }
  }

  private async prepare(): Promise<ClusterPki> {
    const l = this.o.layout;
    for (const dir of [l.dataDir, l.logDir]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    // etcd wants its data folder 0700 and warns otherwise ("The recommended permission is -rwx------",
    // go.etcd.io/etcd/client/pkg/v3 v3.6.16 fileutil.CheckDirPermission).
    mkdirSync(l.etcdDir, { recursive: true, mode: 0o700 });
    chmodSync(l.etcdDir, 0o700);
    const { files, made } = await ensurePki(l.pkiDir);
    chmodSync(l.pkiDir, 0o700);
    this.o.say(made ? `made a CA and certificates in ${l.pkiDir}` : `using the CA and certificates in ${l.pkiDir}`);
    const server = apiserverUrl(this.o.ports);
    writeKubeconfig(l.kubeconfig, server, "pooling-local", "admin", files.ca, files.admin);
    writeKubeconfig(l.controllerManagerKubeconfig, server, "pooling-local", "system:kube-controller-manager", files.ca, files.controllerManager);
    writeKubeconfig(l.schedulerKubeconfig, server, "pooling-local", "system:kube-scheduler", files.ca, files.scheduler);
    return files;
  }

  async start(): Promise<void> {
    const { layout: l, ports: p, bins } = this.o;
    const pki = await this.prepare();
    const serviceRange = ensureServiceRange(l, p);
    const admin = tlsClient(pki.ca, pki.admin);
    const probe = (url: string) => (signal: AbortSignal) => until(signal, () => expectOk(url, admin, signal), 200);
    await this.run(this.spec("etcd", bins.etcd, etcdArgs(l, p), (signal) => until(signal, () => expectOk(`http://127.0.0.1:${p.etcdClient}/health`, undefined, signal), 100), 30_000));
    // /readyz, not /healthz: it turns 200 only after the post-start hooks, the bootstrap RBAC roles and
    // priority levels among them, which the controllers' first requests need.
    await this.run(this.spec("kube-apiserver", bins.apiserver, apiserverArgs(l, pki, p, serviceRange), probe(`${apiserverUrl(p)}/readyz`), 90_000));
    if (bins.controllerManager) {
      await this.runOptional(this.spec("kube-controller-manager", bins.controllerManager, controllerManagerArgs(l, pki, p, serviceRange), probe(`https://127.0.0.1:${p.controllerManager}/healthz`), 60_000));
    }
    if (bins.scheduler) {
      await this.runOptional(this.spec("kube-scheduler", bins.scheduler, schedulerArgs(l, pki, p), probe(`https://127.0.0.1:${p.scheduler}/healthz`), 60_000));
    }
    const skipped = nodeAgentSkipped();
    if (skipped) {
      this.failed["node-agent"] = skipped;
      this.o.say(`no node agent: ${skipped}`);
      return;
    }
    // Ready once it renewed its Lease: it has listed what pods read, registered, and takes pods bound to it.
    const agent = nodeAgentCommand(l.kubeconfig, l.dataDir, serviceRange);
    const since = Date.now();
    const renewed = (signal: AbortSignal) => until(signal, () => leaseRenewedSince(apiserverUrl(p), admin, since, signal), 200);
    await this.runOptional(this.spec("node-agent", agent.command, agent.args, renewed, 180_000, NODE_AGENT_STOP_MS));
  }

  /** Every process in reverse start order, each SIGTERM then SIGKILL after its grace. Idempotent. */
  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= (async () => {
      for (const svc of [...this.services].reverse()) {
        this.o.say(`stopping ${svc.name}`);
        await svc.close();
      }
    })();
    return this.stopped;
  }
}
