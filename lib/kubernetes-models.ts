/**
 * Kubernetes objects as kubernetes-models types them (its interfaces are generated from the API's
 * OpenAPI document): one map from `apiVersion/kind` to the interface, for every reader of manifests.
 * Types only, and the module names as strings: nothing of kubernetes-models is loaded at run time.
 */
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { INamespace } from "kubernetes-models/v1/Namespace";
import type { ISecret } from "kubernetes-models/v1/Secret";
import type { IService } from "kubernetes-models/v1/Service";
import type { IPodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import type { IPrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";

/** Every kind a manifest here may hold, by `apiVersion/kind`. */
export interface KubeModels {
  "v1/Namespace": INamespace;
  "v1/ConfigMap": IConfigMap;
  "v1/Secret": ISecret;
  "v1/Service": IService;
  "apps/v1/Deployment": IDeployment;
  "apps/v1/StatefulSet": IStatefulSet;
  "policy/v1/PodDisruptionBudget": IPodDisruptionBudget;
  "networking.k8s.io/v1/NetworkPolicy": INetworkPolicy;
  // prometheus-operator's CRDs, from @kubernetes-models/prometheus-operator (generated from the CRDs' OpenAPI schemas).
  "monitoring.coreos.com/v1/PrometheusRule": IPrometheusRule;
  "monitoring.coreos.com/v1/PodMonitor": IPodMonitor;
}

/**
 * Where each interface of KubeModels is exported, for code that names it in generated source (the
 * known-fields check type-checks manifests against them); the mapped type keeps both lists the same.
 */
export const KUBE_MODEL_SOURCES: { readonly [K in keyof KubeModels]: readonly [module: string, name: string] } = {
  "v1/Namespace": ["kubernetes-models/v1/Namespace", "INamespace"],
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "IConfigMap"],
  "v1/Secret": ["kubernetes-models/v1/Secret", "ISecret"],
  "v1/Service": ["kubernetes-models/v1/Service", "IService"],
  "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "IDeployment"],
  "apps/v1/StatefulSet": ["kubernetes-models/apps/v1/StatefulSet", "IStatefulSet"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models/policy/v1/PodDisruptionBudget", "IPodDisruptionBudget"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models/networking.k8s.io/v1/NetworkPolicy", "INetworkPolicy"],
  "monitoring.coreos.com/v1/PrometheusRule": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule", "IPrometheusRule"],
  "monitoring.coreos.com/v1/PodMonitor": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor", "IPodMonitor"],
};

/** The kinds by name: `ModelOf["Deployment"]` is IDeployment. */
export type ModelOf = { [K in keyof KubeModels as KubeModels[K]["kind"]]: KubeModels[K] };
export type ModelKind = keyof ModelOf;

/** ObjectMeta with the name every manifest must have (kubernetes-models leaves it optional: the API can generate one). */
export type NamedMeta = NonNullable<IConfigMap["metadata"]> & { name: string };
export type Named<T> = T & { metadata: NamedMeta };

/** An object of a kind KubeModels does not list (or of another apiVersion): only what every object has. */
export interface ForeignManifest {
  apiVersion: string;
  kind: string;
  metadata: NamedMeta;
}

/** A manifest as read from YAML: a typed object of a listed kind, or a foreign one. */
export type Manifest = Named<KubeModels[keyof KubeModels]> | ForeignManifest;

/** A manifest of one kind: `ManifestOf<"Deployment">` is a named IDeployment. */
export type ManifestOf<K extends ModelKind> = Extract<Manifest, { kind: K }>;

const API_VERSION = new Map(Object.keys(KUBE_MODEL_SOURCES).map((k) => [k.slice(k.lastIndexOf("/") + 1), k.slice(0, k.lastIndexOf("/"))]));

/** Whether a manifest is of `kind` at the apiVersion KubeModels types (as kubernetes-models' own `Model.is` compares both: @kubernetes-models/base createTypeMetaGuard). */
export function isKind<K extends ModelKind>(o: Manifest, kind: K): o is ManifestOf<K> {
  return o.kind === kind && o.apiVersion === API_VERSION.get(kind);
}

/** The manifests of one kind, typed. */
export function ofKind<K extends ModelKind>(manifests: readonly Manifest[], kind: K): Array<ManifestOf<K>> {
  return manifests.filter((o): o is ManifestOf<K> => isKind(o, kind));
}
