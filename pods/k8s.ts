/**
 * The Kubernetes objects the pod runner reads, typed by kubernetes-models (generated from the API's
 * OpenAPI document: every field optional where the API makes it optional). The manifests are data from
 * YAML, never built here; lib/kubernetes-models.ts maps each kind to its interface.
 */
import type { IContainer } from "kubernetes-models/v1/Container";
import { ofKind, type Manifest, type ManifestOf } from "../lib/kubernetes-models.ts";

export { isKind, ofKind, type Manifest, type ManifestOf, type ModelKind, type NamedMeta } from "../lib/kubernetes-models.ts";

export type ConfigMap = ManifestOf<"ConfigMap">;
export type Secret = ManifestOf<"Secret">;
export type Service = ManifestOf<"Service">;
export type NetworkPolicy = ManifestOf<"NetworkPolicy">;
export type Deployment = ManifestOf<"Deployment">;
export type StatefulSet = ManifestOf<"StatefulSet">;
/** What owns pods here. */
export type Workload = Deployment | StatefulSet;

/** The Deployments and then the StatefulSets among `objects`. */
export const workloadsOf = (objects: readonly Manifest[]): Workload[] => [...ofKind(objects, "Deployment"), ...ofKind(objects, "StatefulSet")];

export type { IKeyToPath as KeyToPath } from "kubernetes-models/v1/KeyToPath";
export type { IVolume as Volume } from "kubernetes-models/v1/Volume";
export type { IVolumeMount as VolumeMount } from "kubernetes-models/v1/VolumeMount";
export type { ISecretKeySelector as KeySelector } from "kubernetes-models/v1/SecretKeySelector";
export type { IEnvVar as EnvVar } from "kubernetes-models/v1/EnvVar";
export type { IEnvFromSource as EnvFromSource } from "kubernetes-models/v1/EnvFromSource";
export type { IExecAction as ExecAction } from "kubernetes-models/v1/ExecAction";
export type { IHTTPGetAction as HttpGetAction } from "kubernetes-models/v1/HTTPGetAction";
export type { ITCPSocketAction as TcpSocketAction } from "kubernetes-models/v1/TCPSocketAction";
export type { IProbe as Probe } from "kubernetes-models/v1/Probe";
export type { ILifecycleHandler as LifecycleHandler } from "kubernetes-models/v1/LifecycleHandler";
export type { ISecurityContext as SecurityContext } from "kubernetes-models/v1/SecurityContext";
export type { IPodSecurityContext as PodSecurityContext } from "kubernetes-models/v1/PodSecurityContext";
export type { IContainerPort as ContainerPort } from "kubernetes-models/v1/ContainerPort";
export type { IContainer as Container } from "kubernetes-models/v1/Container";
export type { IPodSpec as PodSpec } from "kubernetes-models/v1/PodSpec";
export type { IPodTemplateSpec as PodTemplate } from "kubernetes-models/v1/PodTemplateSpec";

/** A port by number or by the name a container of the pod gives it (probes, Services). */
export function resolvePort(port: number | string, containers: readonly IContainer[]): number | undefined {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  return undefined;
}

/** A Kubernetes quantity ("64Mi", "1G", "512") in bytes. */
export function quantityBytes(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m) throw new RangeError(`not a quantity: ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ""] ?? 1;
  return Math.ceil(Number(m[1]) * unit);
}
