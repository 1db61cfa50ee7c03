/**
 * Reads a Pulumi stack file (Pulumi.<stack>.yaml) without the Pulumi CLI, for `npm run render`,
 * `npm start` and tests. Only `pooling:` keys are taken; other providers' keys are left alone.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { ConfigError, parseStackConfig, type ParseOptions, type StackConfig } from "./index.ts";
import { mergeRaw } from "./overrides.ts";

export const PROJECT = "pooling";

export function stackFilePath(projectDir: string, stack: string): string {
  return join(projectDir, `Pulumi.${stack}.yaml`);
}

/** The stack name a file stands for: `Pulumi.dev.yaml` → `dev`; any other file → its base name. */
export function stackNameOf(file: string): string {
  const m = /^Pulumi\.(.+)\.ya?ml$/.exec(basename(file));
  return m?.[1] ?? basename(file).replace(/\.ya?ml$/, "");
}

/** The raw `pooling:` values of a stack file's YAML text, with the namespace prefix stripped. */
export function rawFromStackYaml(text: string, stack: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(stack, [{ key: "pooling", value: undefined, message: `the stack file is not valid YAML: ${(err as Error).message}` }]);
  }
  const config = (doc as { config?: unknown } | null)?.config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new ConfigError(stack, [{ key: "pooling", value: undefined, message: "the stack file's `config:` must be a mapping of keys to values." }]);
  }
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k.startsWith(`${PROJECT}:`)) raw[k.slice(PROJECT.length + 1)] = v;
  }
  return raw;
}

/** The raw `pooling:` values of a stack file; a file that cannot be read is a ConfigError too. */
export function readStackFile(file: string, stack: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(stack, [{ key: "pooling", value: undefined, message: `cannot read the stack file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return rawFromStackYaml(text, stack);
}

/** The stack file parsed, with `overrides` (raw `pooling:` values) merged over its own values first. */
export function loadStackFile(file: string, opts: Partial<ParseOptions> = {}, overrides?: Record<string, unknown>): StackConfig {
  const stack = opts.stack ?? stackNameOf(file);
  return parseStackConfig(mergeRaw(readStackFile(file, stack), overrides), { ...opts, stack });
}

/** Where `--stack NAME` or `--config-file PATH` points, relative to the project directory. */
export function resolveStackFile(projectDir: string, args: { stack?: string; configFile?: string }): string {
  if (args.configFile) return args.configFile;
  return stackFilePath(projectDir, args.stack ?? "dev");
}

export const projectDirOf = (metaUrl: string, up: number) => {
  let dir = dirname(fileURLToPath(metaUrl));
  for (let i = 0; i < up; i++) dir = dirname(dir);
  return dir;
};
