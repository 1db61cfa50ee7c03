/**
 * A pod's volumes on the node, as the kubelet's volume plugins set them up (pkg/volume/configmap,
 * secret, emptydir; a PersistentVolumeClaim as a block-backed volume whose driver lets the kubelet apply
 * fsGroup). Each volume is a directory under the pod's folder (PVCs under the run's state folder, so
 * they outlive the pod), bound into every container that mounts it.
 */
import { chmodSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { atomicWrite, type Payload } from "./atomic-writer.ts";
import { objectData } from "./env.ts";
import { VolumeError } from "./errors.ts";
import { quantityBytes, type ConfigMap, type KeyToPath, type PodSecurityContext, type Secret, type Volume } from "./k8s.ts";
import { setVolumeOwnership as ownership } from "./ownership.ts";
import { mountsUnder, run } from "./proc.ts";

/** The namespace's ConfigMaps and Secrets, as the API server would serve them to the kubelet. */
export interface ObjectStore {
  configMap(name: string): ConfigMap | undefined;
  secret(name: string): Secret | undefined;
}

export interface MountedVolume {
  name: string;
  kind: "configMap" | "secret" | "emptyDir" | "persistentVolumeClaim";
  /** The directory on the node. */
  hostPath: string;
  /** The volume itself is read-only (ConfigMap, Secret, a read-only claim): mounts of it are too. */
  readOnly: boolean;
}

/** The API's default for ConfigMap and Secret volumes (core/v1 ConfigMapVolumeSource.defaultMode). */
const DEFAULT_MODE = 0o644;

/** MakePayload of pkg/volume/configmap and pkg/volume/secret: every key, or only `items`, with modes. */
export function makePayload(kind: "ConfigMap" | "Secret", name: string, obj: ConfigMap | Secret | undefined, source: { items?: KeyToPath[]; defaultMode?: number; optional?: boolean }): Payload {
  const payload: Payload = new Map();
  if (!obj) {
    if (source.optional) return payload;
    throw new VolumeError(`${kind.toLowerCase()} "${name}" not found`);
  }
  const data = objectData(obj);
  const defaultMode = source.defaultMode ?? DEFAULT_MODE;
  if (!source.items?.length) {
    for (const [key, value] of Object.entries(data)) payload.set(key, { data: value, mode: defaultMode });
    return payload;
  }
  for (const item of source.items) {
    const value = data[item.key];
    if (value === undefined) {
      if (source.optional) continue;
      throw new VolumeError(`${kind.toLowerCase()} references non-existent ${kind === "Secret" ? "secret" : "config"} key: ${item.key}`);
    }
    payload.set(item.path, { data: value, mode: item.mode ?? defaultMode });
  }
  return payload;
}

export class PodVolumes {
  private readonly volumes = new Map<string, MountedVolume>();
  private readonly tmpfs: string[] = [];

  private constructor(
    private readonly podDir: string,
    private readonly specs: readonly Volume[],
    private readonly security: PodSecurityContext,
    private readonly objects: ObjectStore,
  ) {}

  /**
   * Sets up every volume of the pod.
   * @param claimDir the node directory of a claim (StatefulSet `<template>-<pod>`, or a pod's claimName)
   */
  static async setup(opts: { podDir: string; volumes: readonly Volume[]; security: PodSecurityContext; objects: ObjectStore; claimDir: (claimName: string) => string }): Promise<PodVolumes> {
    const pv = new PodVolumes(opts.podDir, opts.volumes, opts.security, opts.objects);
    try {
      for (const v of opts.volumes) pv.volumes.set(v.name, await pv.setupOne(v, opts.claimDir));
    } catch (err) {
      await pv.teardown();
      throw err;
    }
    return pv;
  }

  get(name: string): MountedVolume | undefined {
    return this.volumes.get(name);
  }

  private dirFor(plugin: string, name: string): string {
    // The kubelet's layout: pods/<uid>/volumes/kubernetes.io~<plugin>/<name>.
    const dir = join(this.podDir, "volumes", `kubernetes.io~${plugin}`, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** emptyDir SetUpAt: a 0777 directory (tmpfs for medium Memory, sized by sizeLimit), then fsGroup. */
  private async emptyDir(dir: string, medium: string | undefined, sizeLimit: string | number | undefined): Promise<void> {
    if (medium === "Memory") {
      const size = sizeLimit === undefined ? [] : [`size=${quantityBytes(sizeLimit)}`];
      await run("mount", ["-t", "tmpfs", "-o", ["mode=0777", "nosuid", "nodev", ...size].join(","), "tmpfs", dir]);
      this.tmpfs.push(dir);
    } else if (medium) {
      throw new VolumeError(`emptyDir medium ${medium} is not supported by the pod runner (only "" and Memory)`);
    }
    chmodSync(dir, 0o777);
    ownership(dir, this.security.fsGroup, { readOnly: false });
  }

  private async setupOne(v: Volume, claimDir: (claimName: string) => string): Promise<MountedVolume> {
    if (v.emptyDir) {
      const dir = this.dirFor("empty-dir", v.name);
      await this.emptyDir(dir, v.emptyDir.medium, v.emptyDir.sizeLimit);
      return { name: v.name, kind: "emptyDir", hostPath: dir, readOnly: false };
    }
    if (v.configMap) {
      // The configmap plugin wraps an emptyDir on disk; the secret plugin one in memory, so secrets never touch a disk.
      const dir = this.dirFor("configmap", v.name);
      await this.emptyDir(dir, undefined, undefined);
      const vol: MountedVolume = { name: v.name, kind: "configMap", hostPath: dir, readOnly: true };
      this.write(vol, v);
      return vol;
    }
    if (v.secret) {
      const dir = this.dirFor("secret", v.name);
      await this.emptyDir(dir, "Memory", undefined);
      const vol: MountedVolume = { name: v.name, kind: "secret", hostPath: dir, readOnly: true };
      this.write(vol, v);
      return vol;
    }
    if (v.persistentVolumeClaim) {
      const dir = claimDir(v.persistentVolumeClaim.claimName);
      if (!existsSync(dir)) {
        // A freshly provisioned, freshly formatted volume: its root is root:root 0755.
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o755);
      }
      const readOnly = v.persistentVolumeClaim.readOnly ?? false;
      ownership(dir, this.security.fsGroup, { readOnly, policy: this.security.fsGroupChangePolicy });
      return { name: v.name, kind: "persistentVolumeClaim", hostPath: dir, readOnly };
    }
    const kind = Object.keys(v).find((k) => k !== "name") ?? "(none)";
    throw new VolumeError(`volume ${v.name}: type ${kind} is not supported by the pod runner (configMap, secret, emptyDir, persistentVolumeClaim)`);
  }

  private write(vol: MountedVolume, v: Volume): boolean {
    // The API refuses a ConfigMap or Secret volume without a name; "" finds none.
    const payload = v.configMap
      ? makePayload("ConfigMap", v.configMap.name ?? "", this.objects.configMap(v.configMap.name ?? ""), v.configMap)
      : makePayload("Secret", v.secret?.secretName ?? "", this.objects.secret(v.secret?.secretName ?? ""), v.secret ?? {});
    // setPerms: SetVolumeOwnership over the whole volume, read-only masks (the plugins' mounters are read-only).
    return atomicWrite(vol.hostPath, payload, () => ownership(vol.hostPath, this.security.fsGroup, { readOnly: true }));
  }

  /** A ConfigMap or Secret changed: every volume of this pod using it gets the atomic swap. Returns the volumes updated. */
  update(kind: "ConfigMap" | "Secret", name: string): string[] {
    const changed: string[] = [];
    for (const v of this.specs) {
      const uses = kind === "ConfigMap" ? v.configMap?.name === name : v.secret?.secretName === name;
      const vol = this.volumes.get(v.name);
      if (uses && vol && this.write(vol, v)) changed.push(v.name);
    }
    return changed;
  }

  /** Unmounts the pod's tmpfs volumes and removes its folder; claims stay where they are. */
  async teardown(): Promise<void> {
    for (const dir of [...this.tmpfs].reverse()) {
      for (const mp of mountsUnder(dir)) await run("umount", ["-l", mp]).catch(() => undefined);
    }
    this.tmpfs.length = 0;
    rmSync(join(this.podDir, "volumes"), { recursive: true, force: true });
  }
}
