/**
 * The config reference, generated from the schema: the table in docs/config.md and Pulumi.yaml's project-level
 * `config:` block. A test checks both files match, so the docs cannot drift from the code.
 */
import type { z } from "zod";
import type { FieldDoc } from "./fields.ts";
import { SECTIONS, rawStackSchema } from "./schema.ts";
import { formatDuration, formatSize } from "./units.ts";

export interface KeyDoc {
  key: string;
  kind: string;
  default: string;
  description: string;
}

function docOf(schema: z.ZodType): FieldDoc {
  const meta = schema.meta() as FieldDoc | undefined;
  if (!meta?.description) throw new Error("every stack config field needs a description");
  return meta;
}

function shown({ kind, derived }: FieldDoc, value: unknown): string {
  if (value === undefined) return derived === undefined ? "derived" : `derived: ${derived}`;
  if (kind.startsWith("duration")) return formatDuration(value as number);
  if (kind === "size") return formatSize(value as number);
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function configKeys(): KeyDoc[] {
  const defaults = rawStackSchema.parse({}) as unknown as Record<string, Record<string, unknown>>;
  const ns = docOf(rawStackSchema.shape.namespace);
  const keys: KeyDoc[] = [{ key: "namespace", kind: ns.kind, default: String(defaults.namespace), description: ns.description }];
  for (const [section, schema] of Object.entries(SECTIONS)) {
    for (const [field, fieldSchema] of Object.entries(schema.shape)) {
      const doc = docOf(fieldSchema as z.ZodType);
      keys.push({ key: `${section}.${field}`, kind: doc.kind, default: shown(doc, defaults[section]?.[field]), description: doc.description });
    }
  }
  return keys;
}

export function configReferenceMarkdown(): string {
  const rows = configKeys().map((k) => `| \`pooling:${k.key}\` | ${k.kind.replace(/\|/g, "\\|")} | \`${k.default}\` | ${k.description.replace(/\|/g, "\\|")} |`);
  return ["| key | type | default | what it sets |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

type ProjectConfigDecl = { type?: string; default: unknown; description: string };

/**
 * Pulumi's project config types are string, integer, boolean and array; the sections are objects, so
 * each is declared untyped with a description listing its fields, types and defaults. Each needs a
 * default (`{}`): Pulumi treats a declared key without one as required on every stack.
 */
export function pulumiProjectConfig(): Record<string, ProjectConfigDecl> {
  const keys = configKeys();
  const out: Record<string, ProjectConfigDecl> = {};
  const ns = keys[0]!;
  out.namespace = { type: "string", default: ns.default, description: ns.description };
  for (const section of Object.keys(SECTIONS)) {
    const fields = keys.filter((k) => k.key.startsWith(`${section}.`));
    out[section] = {
      default: {},
      description: [
        `Object; set fields with \`pulumi config set --path '${section}.FIELD' VALUE\`. Fields:`,
        ...fields.map((f) => `${f.key.slice(section.length + 1)} (${f.kind}, default ${f.default}): ${f.description}`),
      ].join("\n"),
    };
  }
  return out;
}
