/**
 * The node's registration and heartbeats, as the kubelet does them: the Node created (or, when it is
 * there from an earlier run, its status replaced), the Lease in kube-node-lease renewed every 10 s
 * (the node lifecycle controller reads it), and the Node's status posted every 10 s
 * (nodeStatusUpdateFrequency) so its Ready condition's heartbeat stays fresh.
 */
import { PatchStrategy, setHeaderOptions, type V1Node } from "@kubernetes/client-node";
import { waitFor, WaitTimeoutError } from "../../lib/wait.ts";
import { statusOf, type NodeApi } from "./api.ts";
import { NodeRegistrationError } from "./errors.ts";
import { LEASE_RENEW_MS, leaseObject, nodeObject, nodeStatus, type NodeFacts } from "./node-object.ts";

const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export class NodeRegistration {
  private timer: NodeJS.Timeout | undefined;
  private uid: string | undefined;
  private readonly since = new Date();
  private beating: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: NodeApi,
    private readonly facts: NodeFacts,
    private readonly log: (line: string) => void,
  ) {}

  /** Creates the Node, or takes over the one an earlier run registered; retried until the API server answers. */
  async register(deadlineMs = 60_000): Promise<void> {
    const node = await waitFor(`the API server to register node ${this.facts.name}`, () => this.createOrUpdate(), deadlineMs, 1_000).catch((err: unknown) => {
      const last = err instanceof WaitTimeoutError ? err.last : err;
      throw new NodeRegistrationError(`could not register node ${this.facts.name}: ${(last as Error | undefined)?.message ?? "no answer"}`, { cause: last });
    });
    this.uid = node.metadata?.uid;
    await this.heartbeat();
    this.timer = setInterval(() => void this.heartbeat(), LEASE_RENEW_MS);
    this.log(`node ${this.facts.name} registered (InternalIP ${this.facts.internalIp}, ${this.facts.cpus} CPUs, ${Math.round(this.facts.memoryBytes / 2 ** 20)} MiB)`);
  }

  private async createOrUpdate(): Promise<V1Node> {
    try {
      return await this.api.core.createNode({ body: nodeObject(this.facts, new Date()) });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      return this.postStatus();
    }
  }

  private postStatus(): Promise<V1Node> {
    return this.api.core.patchNodeStatus({ name: this.facts.name, body: { status: nodeStatus(this.facts, new Date(), this.since) } }, merge);
  }

  /** One heartbeat: the lease renewed (created when missing), then the Node's status. Failures are logged, never thrown. */
  heartbeat(): Promise<void> {
    this.beating = this.beating.then(async () => {
      const lease = leaseObject(this.facts.name, this.uid, new Date());
      try {
        // A merge patch needs no resourceVersion: the agent is the lease's only writer.
        await this.api.coordination.patchNamespacedLease({ name: this.facts.name, namespace: "kube-node-lease", body: { spec: lease.spec } }, merge).catch(async (err: unknown) => {
          if (statusOf(err) !== 404) throw err;
          await this.api.coordination.createNamespacedLease({ namespace: "kube-node-lease", body: lease });
        });
        await this.postStatus();
      } catch (err) {
        this.log(`heartbeat of node ${this.facts.name} failed: ${(err as Error).message}`);
      }
    });
    return this.beating;
  }

  /** Stops the heartbeats; the Node stays registered and the lease runs out, as when a kubelet stops. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
  }
}
