/**
 * Handlebars in strict mode: a value the template asks for and the renderer did not give is an error,
 * never an empty string in a config file. No HTML escaping: these are config files, and every value was
 * validated (identifiers, numbers, units) before it got here.
 */
import { createHash } from "node:crypto";
import Handlebars from "handlebars";
import { TEMPLATES, type TemplateName } from "../../configs/templates.ts";

const engine = Handlebars.create();
const compiled = new Map<TemplateName, Handlebars.TemplateDelegate>();

function template(name: TemplateName): Handlebars.TemplateDelegate {
  let t = compiled.get(name);
  if (!t) {
    t = engine.compile(TEMPLATES[name], { strict: true, noEscape: true, knownHelpersOnly: true });
    compiled.set(name, t);
  }
  return t;
}

export function contentHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/**
 * Renders a template and puts a first line naming the stack and the hash of the rest, so a file on disk
 * or in a ConfigMap can be traced to its stack and a changed hash always means changed content.
 */
export function renderFile(name: TemplateName, file: string, stack: string, context: object, comment = "#"): string {
  const body = template(name)(context);
  return `${comment} ${file} for stack "${stack}", rendered by pooling; content sha256:${contentHash(body)}\n${body}`;
}

export interface Setting {
  key: string;
  value: string;
}

/** Sorted key/value pairs: stable output, so an unchanged config never rolls a pod. */
export function sortedSettings(settings: Record<string, string | number | boolean | undefined>, format: (v: string | number | boolean) => string): Setting[] {
  return Object.entries(settings)
    .filter((e): e is [string, string | number | boolean] => e[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value: format(value) }));
}
