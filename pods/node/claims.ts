/**
 * Storage for PersistentVolumeClaims: the scheduler does not place a pod whose claim is unbound
 * (VolumeBinding, pkg/scheduler/framework/plugins/volumebinding), and nothing here provisions volumes.
 * The agent does what a local static provisioner does: for each pending claim without a class, a
 * hostPath PersistentVolume pre-bound to it (claimRef with the claim's uid, so the persistentvolume-binder
 * controller binds exactly that pair) on a directory under the agent's folder. A volume the binder marks
 * Released (its claim deleted, with the namespace on `down`) is deleted with its directory: the Delete
 * reclaim policy of dynamically provisioned volumes, done by their provisioner as external provisioners do.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { rmSync } from "node:fs";
import { statusOf, type NodeApi } from "./api.ts";

export const PROVISIONER_LABEL = "pooling.dev/provisioned-by";

export function claimVolumeName(ns: string, claim: string): string {
  return `pooling-${ns}-${claim}`.slice(0, 253);
}

/** The PersistentVolume for a pending claim, or undefined when the claim is not ours to provision. */
export function volumeFor(claim: V1PersistentVolumeClaim, nodeName: string, path: string): V1PersistentVolume | undefined {
  const { name, namespace, uid } = claim.metadata ?? {};
  if (!name || !namespace || claim.spec?.volumeName || claim.status?.phase === "Bound") return undefined;
  // A claim naming a class is a provisioner's (none runs here); "" and none at all take a class-less volume.
  if (claim.spec?.storageClassName) return undefined;
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: claimVolumeName(namespace, name), labels: { [PROVISIONER_LABEL]: nodeName } },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage ?? "1Gi" },
      accessModes: claim.spec?.accessModes ?? ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName: "",
      hostPath: { path, type: "DirectoryOrCreate" },
      claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid },
    },
  };
}

export class ClaimProvisioner {
  private readonly made = new Set<string>();

  constructor(
    private readonly api: NodeApi,
    private readonly nodeName: string,
    private readonly dirOf: (ns: string, claim: string) => string,
    private readonly log: (line: string) => void,
  ) {}

  async claimChanged(claim: V1PersistentVolumeClaim): Promise<void> {
    const ns = claim.metadata?.namespace ?? "default";
    const pv = volumeFor(claim, this.nodeName, this.dirOf(ns, claim.metadata?.name ?? ""));
    if (!pv || this.made.has(pv.metadata!.name!)) return;
    this.made.add(pv.metadata!.name!);
    try {
      await this.api.core.createPersistentVolume({ body: pv });
      this.log(`provisioned ${pv.metadata!.name} for claim ${ns}/${claim.metadata?.name} at ${pv.spec!.hostPath!.path}`);
    } catch (err) {
      if (statusOf(err) !== 409) {
        this.made.delete(pv.metadata!.name!);
        this.log(`could not provision a volume for ${ns}/${claim.metadata?.name}: ${(err as Error).message}`);
      }
    }
  }

  async volumeChanged(pv: V1PersistentVolume): Promise<void> {
    if (pv.metadata?.labels?.[PROVISIONER_LABEL] !== this.nodeName || pv.status?.phase !== "Released") return;
    const name = pv.metadata.name!;
    try {
      await this.api.core.deletePersistentVolume({ name });
      if (pv.spec?.hostPath?.path) rmSync(pv.spec.hostPath.path, { recursive: true, force: true });
      this.made.delete(name);
      this.log(`deleted released volume ${name} and its data`);
    } catch (err) {
      if (statusOf(err) !== 404) this.log(`could not delete released volume ${name}: ${(err as Error).message}`);
    }
  }
}
