/**
 * Fake policy arguments: what @pulumi/policy's server hands a policy, built from plain manifests, so the
 * policies run without the Pulumi CLI. The real manifests (`renderManifests`) are the passing input.
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { vi } from "vitest";
import { parseStackConfig } from "../../infra/config/index.ts";
import { renderManifests } from "../../infra/k8s/manifests/index.ts";

export type Manifest = Record<string, unknown>;

/** The Pulumi type token of a manifest: `apps/v1` Deployment → `kubernetes:apps/v1:Deployment`, `v1` → `core/v1`. */
export function pulumiTypeOf(m: Manifest): string {
  const apiVersion = String(m.apiVersion);
  return `kubernetes:${apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`}:${String(m.kind)}`;
}

/** The manifests of a stack with the default config, or with `raw` as its stack file's `pooling:` values. */
export function realManifests(raw: Record<string, unknown> = {}): Manifest[] {
  return renderManifests(parseStackConfig(raw, { stack: "test" })).map((m) => structuredClone(m.object));
}

/** A deep copy of the real manifest of that kind and name, to mutate. */
export function realManifest(kind: string, name: string): Manifest {
  const m = realManifests().find((o) => o.kind === kind && (o.metadata as { name?: string }).name === name);
  if (!m) throw new Error(`no ${kind} "${name}" among the rendered manifests`);
  return m;
}

/** `any`-free access to the pod spec of a Deployment or StatefulSet manifest, for mutating. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests reach into manifests freely
export const podOf = (m: Manifest): any => (m as { spec: { template: { spec: unknown } } }).spec.template.spec;

/** The spec of a Deployment among `all`, to read or mutate. */
export function deploymentSpec(all: Manifest[], name: string): { replicas: number; strategy?: Record<string, unknown> } & Record<string, unknown> {
  const m = all.find((o) => o.kind === "Deployment" && (o.metadata as { name?: string }).name === name);
  if (!m) throw new Error(`no Deployment "${name}" among the manifests`);
  return m.spec as { replicas: number } & Record<string, unknown>;
}

/**
 * The manifests with the PgBouncer Deployment's replicas and rollout strategy changed in place. A `type`
 * or `maxSurge` given as undefined is removed, as is `rollingUpdate` with `withoutRollingUpdate`: a
 * manifest that leaves them out.
 */
export function withPgbouncerRollout(
  all: Manifest[],
  change: { replicas?: number; type?: string; maxSurge?: unknown; maxUnavailable?: unknown; withoutRollingUpdate?: boolean },
): Manifest[] {
  const spec = deploymentSpec(all, "pgbouncer");
  const strategy = (spec.strategy ??= {});
  const rollingUpdate = (strategy.rollingUpdate ??= {}) as Record<string, unknown>;
  if (change.replicas !== undefined) spec.replicas = change.replicas;
  if ("type" in change) {
    if (change.type === undefined) delete strategy.type;
    else strategy.type = change.type;
  }
  if ("maxSurge" in change) {
    if (change.maxSurge === undefined) delete rollingUpdate.maxSurge;
    else rollingUpdate.maxSurge = change.maxSurge;
  }
  if ("maxUnavailable" in change) rollingUpdate.maxUnavailable = change.maxUnavailable;
  if (change.withoutRollingUpdate) delete strategy.rollingUpdate;
  return all;
}

export class NotApplicable extends Error {}

const urnOf = (type: string, name: string) => `urn:pulumi:test::pooling::${type}::${name}`;
const nameOf = (m: Manifest) => String((m.metadata as { name?: string } | undefined)?.name ?? "unnamed");
const opts = { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] };

export function resourceArgs(m: Manifest): ResourceValidationArgs {
  const type = pulumiTypeOf(m);
  return {
    type,
    props: m,
    urn: urnOf(type, nameOf(m)),
    name: nameOf(m),
    opts,
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string) => {
      throw new NotApplicable(reason);
    },
  };
}

export function policyResource(m: Manifest): PolicyResource {
  const { type, props, urn, name } = resourceArgs(m);
  return { type, props, urn, name, opts, dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined };
}

export function stackArgs(manifests: Manifest[]): StackValidationArgs {
  return {
    resources: manifests.map(policyResource),
    stackTags: new Map(),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string) => {
      throw new NotApplicable(reason);
    },
  };
}

/** Runs a resource policy on one manifest; returns the spy, whose calls are the violations. */
export async function validate(policy: ResourceValidationPolicy, m: Manifest) {
  const report = vi.fn<ReportViolation>();
  const validations = [policy.validateResource ?? []].flat();
  for (const v of validations) await v(resourceArgs(m), report);
  return report;
}

export async function validateStack(policy: StackValidationPolicy, manifests: Manifest[]) {
  const report = vi.fn<ReportViolation>();
  await policy.validateStack(stackArgs(manifests), report);
  return report;
}

/** The messages a spy received. */
export const messages = (report: ReturnType<typeof vi.fn<ReportViolation>>) => report.mock.calls.map((c) => c[0]);
