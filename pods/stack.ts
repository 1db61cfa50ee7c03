/**
 * The stack the pod runner runs: the user's stack file with the versions of the binaries that stand in
 * for the images, rendered by the render CLI (a child process: the runner takes manifests as data and
 * imports nothing of infra/), then read back as plain objects.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseDocument } from "yaml";
import { InputError, PoolingError } from "../lib/errors.ts";
import { ManifestError } from "./errors.ts";
import type { KObject } from "./k8s.ts";
import { loadManifests } from "./manifests.ts";

/** The render CLI failed for a reason other than the stack file (its exit 1). */
export class RenderFailedError extends PoolingError {
  readonly code = "POOLING_PODS_RENDER_FAILED";
  constructor(readonly stderr: string) {
    super(`the render CLI failed:\n${stderr.trim()}`);
  }
}

/** The render CLI refused the stack file or the command line (its exit 2): input to change. */
export class StackRefusedError extends InputError {
  readonly code = "POOLING_PODS_STACK_REFUSED";
  constructor(readonly stderr: string) {
    super(`the render CLI refused the stack:\n${stderr.trim()}`);
  }
}

/** A manifest as the runner reads it: the one type of pods/k8s.ts, from the one loader of pods/manifests.ts. */
export type Manifest = KObject;

/**
 * Writes a copy of the stack file with the given `pooling:<section>.<field>` values set, keeping the
 * name `Pulumi.<stack>.yaml` so the render CLI names the stack as the user's file does.
 */
export function writeStackVariant(stackFile: string, outDir: string, values: Record<string, string | number>): string {
  const doc = parseDocument(readFileSync(stackFile, "utf8"));
  for (const [path, value] of Object.entries(values)) {
    const [section, field] = path.split(".") as [string, string];
    doc.setIn(["config", `pooling:${section}`, field], value);
  }
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, basename(stackFile));
  writeFileSync(file, doc.toString(), { mode: 0o600 });
  return file;
}

/** `npm run render -- --config-file FILE --out DIR --with-secrets`, as a child process. */
export async function renderStack(projectDir: string, stackFile: string, outDir: string): Promise<string> {
  const args = ["--import", "tsx", join(projectDir, "infra", "cli", "render.ts"), "--config-file", stackFile, "--out", outDir, "--with-secrets"];
  const child = spawn(process.execPath, args, { cwd: projectDir, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code === 2) throw new StackRefusedError(stderr);
  if (code !== 0) throw new RenderFailedError(stderr);
  return join(outDir, "k8s");
}

/** Every manifest under a directory, with its path relative to it (pods/manifests.ts loadManifests). */
export const readManifests = loadManifests;

/** The label every object of the stack carries with its role (Kubernetes' recommended labels). */
export const ROLE_LABEL = "app.kubernetes.io/component";

/** The roles the stack's workloads play, as its manifests label them. */
export type Role = "database" | "pooler" | "cache" | "probe";

/**
 * The one object of `kind` labelled with `role`; with `dataKey`, the one whose data holds that key (a
 * file name the software itself reads: postgresql.conf, pgbouncer.ini). Objects are found by what they
 * are, never by the names the renderer happens to give them.
 */
export function byRole(manifests: ReadonlyArray<{ object: Manifest }>, kind: string, role: Role, dataKey?: string): Manifest {
  const found = manifests
    .map((m) => m.object)
    .filter((o) => o.kind === kind && o.metadata.labels?.[ROLE_LABEL] === role && (dataKey === undefined || o.data?.[dataKey] !== undefined || o.stringData?.[dataKey] !== undefined));
  const what = `${kind} labelled ${ROLE_LABEL}=${role}${dataKey === undefined ? "" : ` holding ${dataKey}`}`;
  if (found.length !== 1) throw new ManifestError(`the rendered manifests have ${found.length === 0 ? "no" : found.length} ${what}; the checks need exactly one`);
  return found[0]!;
}

/** The Deployment or StatefulSet that runs `role`. */
export function workloadOf(manifests: ReadonlyArray<{ object: Manifest }>, role: Role): Manifest {
  const all = manifests.filter((m) => (m.object.kind === "Deployment" || m.object.kind === "StatefulSet") && m.object.metadata.labels?.[ROLE_LABEL] === role);
  if (all.length !== 1) throw new ManifestError(`the rendered manifests have ${all.length} workloads labelled ${ROLE_LABEL}=${role}; the checks need exactly one`);
  return all[0]!.object;
}

/** A data value of a ConfigMap or Secret (a Secret's `data` decoded). */
export function dataValue(object: Manifest, key: string): string {
  const plain = object.stringData?.[key] ?? (object.kind === "Secret" ? undefined : object.data?.[key]);
  if (plain !== undefined) return plain;
  const b64 = object.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, "base64").toString("utf8");
  throw new ManifestError(`${object.kind} ${object.metadata.name} has no key ${key}`);
}



/** The images each workload's containers name, as the unmodified stack renders them. */
export function imagesByContainer(manifests: ReadonlyArray<{ object: Manifest }>): Map<string, string> {
  const out = new Map<string, string>();
  for (const { object } of manifests) {
    const pod = object.spec?.template?.spec;
    if (!pod) continue;
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) out.set(`${object.metadata.name}/${c.name}`, c.image);
  }
  return out;
}
