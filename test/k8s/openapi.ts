/**
 * Validation against the Kubernetes OpenAPI schema, offline: kubernetes-models ships ajv validators
 * generated from the API server's OpenAPI document (type, format, enum and required checks).
 */
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, Secret, Service } from "kubernetes-models/v1";
// prometheus-operator's CRDs: ajv validators generated from the openAPIV3Schema of each published CRD.
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";

interface Validating {
  validate(): void;
}

const MODELS: Record<string, new (data: never) => Validating> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
};

/** Problems with a manifest, as "path: message" lines; empty when it is valid. */
export function openApiProblems(object: Record<string, unknown>): string[] {
  const key = `${String(object.apiVersion)}/${String(object.kind)}`;
  const Model = MODELS[key];
  if (!Model) return [`no schema for ${key}: add its model to test/k8s/openapi.ts`];
  try {
    new Model(structuredClone(object) as never).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: Array<{ instancePath: string; message?: string }> }).errors;
    return errors ? errors.map((e) => `${e.instancePath === "" ? "/" : e.instancePath}: ${e.message ?? "invalid"}`) : [(err as Error).message];
  }
}
