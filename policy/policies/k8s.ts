/**
 * Where the pod spec sits in each Kubernetes workload, as the Pulumi Kubernetes provider names them, and
 * the loose shapes the policies read. Props reach a policy as plain data that anyone may have written, so
 * every field is optional and every accessor tolerates a wrong type.
 */

export interface SecurityContextLike {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
}

export interface EnvVarLike {
  name?: string;
  value?: string;
  valueFrom?: unknown;
}

export interface ContainerLike {
  name?: string;
  image?: string;
  env?: EnvVarLike[];
  ports?: Array<{ hostPort?: number }>;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  securityContext?: SecurityContextLike;
}

export interface PodSpecLike {
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  ephemeralContainers?: ContainerLike[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContextLike;
  volumes?: Array<Record<string, unknown>>;
}

const TEMPLATE = ["spec", "template", "spec"];

/**
 * Path from a resource's props to its pod spec. Patch types (`DeploymentPatch`…) are left out on purpose:
 * a patch carries only the fields it changes, so a missing probe there is not a missing probe.
 */
export const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  "kubernetes:core/v1:Pod": ["spec"],
  "kubernetes:core/v1:PodTemplate": ["template", "spec"],
  "kubernetes:core/v1:ReplicationController": TEMPLATE,
  "kubernetes:apps/v1:Deployment": TEMPLATE,
  "kubernetes:apps/v1:StatefulSet": TEMPLATE,
  "kubernetes:apps/v1:DaemonSet": TEMPLATE,
  "kubernetes:apps/v1:ReplicaSet": TEMPLATE,
  "kubernetes:batch/v1:Job": TEMPLATE,
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

export const CONFIG_MAP_TYPE = "kubernetes:core/v1:ConfigMap";
export const DEPLOYMENT_TYPE = "kubernetes:apps/v1:Deployment";
export { ROLE_LABEL as COMPONENT_LABEL } from "../../infra/render/names.ts";

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The pod spec of a workload, or undefined for any other type (or a workload without one). */
export function podSpecOf(type: string, props: Record<string, unknown>): PodSpecLike | undefined {
  const path = POD_SPEC_PATHS[type];
  if (!path) return undefined;
  let node: unknown = props;
  for (const key of path) node = isRecord(node) ? node[key] : undefined;
  return isRecord(node) ? (node as PodSpecLike) : undefined;
}

export type ContainerKind = "container" | "init container" | "ephemeral container";

export interface NamedContainer {
  kind: ContainerKind;
  /** `container "pgbouncer"`, for messages. */
  label: string;
  c: ContainerLike;
}

const listOf = <T>(v: T[] | undefined): T[] => (Array.isArray(v) ? v.filter(isRecord) : []) as T[];

export function containersOf(pod: PodSpecLike): NamedContainer[] {
  const groups: Array<[ContainerKind, ContainerLike[] | undefined]> = [
    ["container", pod.containers],
    ["init container", pod.initContainers],
    ["ephemeral container", pod.ephemeralContainers],
  ];
  return groups.flatMap(([kind, list]) => listOf(list).map((c, i) => ({ kind, label: `${kind} "${c.name ?? `#${i}`}"`, c })));
}

export function metadataOf(props: Record<string, unknown>): { name?: string; namespace?: string; labels: Record<string, unknown> } {
  const m = isRecord(props.metadata) ? props.metadata : {};
  return {
    name: typeof m.name === "string" ? m.name : undefined,
    namespace: typeof m.namespace === "string" ? m.namespace : undefined,
    labels: isRecord(m.labels) ? m.labels : {},
  };
}

/** A ConfigMap's `data`, string values only. */
export function configMapData(props: Record<string, unknown>): Record<string, string> {
  const data = isRecord(props.data) ? props.data : {};
  return Object.fromEntries(Object.entries(data).filter((e): e is [string, string] => typeof e[1] === "string"));
}
