/**
 * The stack the pod runner runs: the user's stack file with the versions of the binaries that stand in
 * for the images, rendered by the render CLI (a child process: the runner takes manifests as data and
 * imports nothing of infra/), then read back as plain objects.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { parseDocument, parse } from "yaml";
import { InputError, PoolingError } from "../lib/errors.ts";

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

/** A parsed manifest: only the fields the runner's checks read are typed. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Manifests are data from YAML; each reader narrows what it takes.
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
  stringData?: Record<string, string>;
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

/** Every manifest under a directory, with its path relative to it. */
export function readManifests(dir: string): Array<{ file: string; object: Manifest }> {
  const out: Array<{ file: string; object: Manifest }> = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name)) out.push({ file: relative(dir, path), object: parse(readFileSync(path, "utf8")) as Manifest });
    }
  };
  walk(dir);
  return out;
}

export function find(manifests: ReadonlyArray<{ object: Manifest }>, kind: string, name: string): Manifest {
  const m = manifests.find((x) => x.object.kind === kind && x.object.metadata.name === name)?.object;
  if (!m) throw new Error(`no ${kind} named ${name} among the rendered manifests`);
  return m;
}


/** A value of a Secret manifest (the runner renders them with real, freshly generated values). */
export function secretValue(secret: Manifest, key: string): string {
  const plain = secret.stringData?.[key];
  if (plain !== undefined) return plain;
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, "base64").toString("utf8");
  throw new Error(`Secret ${secret.metadata.name} has no key ${key}`);
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
