/**
 * The stack the pod runner runs: the user's stack file with the versions of the binaries that stand in
 * for the images, rendered by the render CLI (a child process: the runner takes manifests as data and
 * imports nothing of infra/ but the names of its output, infra/render/names.ts), then read back typed
 * (pods/manifests.ts) and looked up by kind and role.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseDocument } from "yaml";
import { InputError, PoolingError } from "../lib/errors.ts";
import { ManifestError } from "./errors.ts";
import { ROLE_LABEL, type FileName, type Role } from "../infra/render/names.ts";
import { objectData } from "./env.ts";
import { ofKind, workloadsOf, type ConfigMap, type Container, type Manifest, type ManifestOf, type ModelKind, type PodSpec, type Secret, type Workload } from "./k8s.ts";
import { runnableTemplate } from "./workloads.ts";

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

export { ROLE_LABEL, type Role } from "../infra/render/names.ts";

type Manifests = ReadonlyArray<{ object: Manifest }>;

const labelled = (o: Manifest, role: Role) => o.metadata.labels?.[ROLE_LABEL] === role;

function exactlyOne<T>(found: T[], what: string): T {
  if (found.length !== 1) throw new ManifestError(`the rendered manifests have ${found.length === 0 ? "no" : found.length} ${what}; the checks need exactly one`);
  return found[0]!;
}

/**
 * The one object of `kind` labelled with `role`. Objects are found by what they are, never by the names
 * the renderer happens to give them.
 */
export function byRole<K extends ModelKind>(manifests: Manifests, kind: K, role: Role): ManifestOf<K> {
  const all = ofKind(manifests.map((m) => m.object), kind).filter((o) => labelled(o, role));
  return exactlyOne(all, `${kind} labelled ${ROLE_LABEL}=${role}`);
}

/** The one ConfigMap labelled with `role` whose data holds `file` (a file name the software itself reads). */
export function configMapHolding(manifests: Manifests, role: Role, file: FileName): ConfigMap {
  const all = ofKind(manifests.map((m) => m.object), "ConfigMap").filter((o) => labelled(o, role) && (o.data?.[file] !== undefined || o.binaryData?.[file] !== undefined));
  return exactlyOne(all, `ConfigMap labelled ${ROLE_LABEL}=${role} holding ${file}`);
}

/** The text of `file` from the ConfigMap of `role` that holds it. */
export const configFile = (manifests: Manifests, role: Role, file: FileName): string => dataValue(configMapHolding(manifests, role, file), file);

/** The Deployment or StatefulSet that runs `role`. */
export function workloadOf(manifests: Manifests, role: Role): Workload {
  const all = workloadsOf(manifests.map((m) => m.object)).filter((o) => labelled(o, role));
  return exactlyOne(all, `workloads labelled ${ROLE_LABEL}=${role}`);
}

/** A workload's pod spec, which the API requires of it. */
export const podSpecOf = (workload: Workload): PodSpec => runnableTemplate(workload).spec;

/** The container that runs a workload's server: its first (sidecars follow it). */
export const serverContainerOf = (workload: Workload): Container => podSpecOf(workload).containers[0]!;

/** A data value of a ConfigMap or Secret (a Secret's `data` decoded, `stringData` over it as the API server merges them). */
export function dataValue(object: ConfigMap | Secret, key: string): string {
  const value = objectData(object)[key];
  if (value === undefined) throw new ManifestError(`${object.kind} ${object.metadata.name} has no key ${key}`);
  return value.toString("utf8");
}

/** The images each workload's containers name, as the unmodified stack renders them. */
export function imagesByContainer(manifests: Manifests): Map<string, string> {
  const out = new Map<string, string>();
  for (const workload of workloadsOf(manifests.map((m) => m.object))) {
    const pod = workload.spec?.template.spec;
    for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) if (c.image !== undefined) out.set(`${workload.metadata.name}/${c.name}`, c.image);
  }
  return out;
}
