/**
 * The bench's `--sweep section.key=v1,v2,…`: one numeric stack key and the values it takes in turn. Each
 * value goes through the stack file's own parser (as an override), so a swept value the stack would
 * refuse (a pool past the connection budget) is refused before anything starts, with the parser's own
 * message. A bench flag, so it lives in the bench, not in the config layer.
 */
import { ConfigError, type StackConfig } from "../infra/config/index.ts";
import { SECTIONS } from "../infra/config/schema.ts";
import { InputError } from "../lib/errors.ts";

/** One stack key and the numbers it takes in turn. */
export interface NumericSweep {
  section: keyof typeof SECTIONS;
  field: string;
  /** `section.field`, as in the stack file. */
  path: string;
  values: number[];
  /** The key's value in the stack as parsed, without the sweep: what runs by default. */
  current: number;
}

/** What is wrong with a `--sweep` argument; `code` is stable, the message says how to fix it. */
export class SweepSpecError extends InputError {
  readonly code = "POOLING_INVALID_SWEEP";
}

const SPEC_FORM = "section.key=v1,v2,… (for example pgbouncer.defaultPoolSize=2,4,8,16,25,50)";

/** Raw `pooling:` values that set `sweep`'s key to `value`, as the stack file would. */
export function sweepOverride(sweep: Pick<NumericSweep, "section" | "field">, value: number): Record<string, unknown> {
  return { [sweep.section]: { [sweep.field]: value } };
}

/**
 * Reads `section.key=v1,v2,…`. The key must be one of the schema's and hold a number in the parsed
 * config (`config`, the stack as it is); the values must be numbers, at least two, none repeated. Whether
 * the stack accepts each value is `checkSweepValues`' question.
 */
export function parseSweepSpec(spec: string, config: StackConfig): NumericSweep {
  const eq = spec.indexOf("=");
  if (eq < 0) throw new SweepSpecError(`--sweep ${JSON.stringify(spec)}: expected ${SPEC_FORM}.`);
  const path = spec.slice(0, eq).trim().replace(/^pooling:/, "");
  const [section, field, ...rest] = path.split(".");
  const numeric = Object.keys(SECTIONS).flatMap((s) =>
    Object.entries(config[s as keyof typeof SECTIONS]).flatMap(([f, v]) => (typeof v === "number" ? [`${s}.${f}`] : [])),
  );
  if (!section || !field || rest.length > 0 || !(section in SECTIONS) || !Object.hasOwn(SECTIONS[section as keyof typeof SECTIONS].shape, field)) {
    throw new SweepSpecError(`--sweep: unknown stack key ${JSON.stringify(path)}. Give section.key, one of the numeric keys: ${numeric.join(", ")}.`);
  }
  const current = (config[section as keyof typeof SECTIONS] as Record<string, unknown>)[field];
  if (typeof current !== "number") {
    throw new SweepSpecError(`--sweep: pooling:${path} is not numeric (it is ${JSON.stringify(current)} in this stack); sweep a key that holds a number.`);
  }
  const texts = spec.slice(eq + 1).split(",").map((v) => v.trim());
  const bad = texts.filter((t) => t === "" || !Number.isFinite(Number(t)));
  if (bad.length > 0) throw new SweepSpecError(`--sweep pooling:${path}: ${bad.map((b) => JSON.stringify(b)).join(", ")} ${bad.length === 1 ? "is not a number" : "are not numbers"}; give numbers separated by commas, ${SPEC_FORM}.`);
  const values = texts.map(Number);
  if (values.length < 2) throw new SweepSpecError(`--sweep pooling:${path}: give at least two values to compare, ${SPEC_FORM}.`);
  const repeated = values.filter((v, i) => values.indexOf(v) !== i);
  if (repeated.length > 0) throw new SweepSpecError(`--sweep pooling:${path}: ${repeated.join(", ")} given more than once; give each value once.`);
  return { section: section as keyof typeof SECTIONS, field, path, values, current };
}

/**
 * Parses the stack once per swept value with `load` (the stack file's parser, overrides merged) and
 * refuses the sweep on the first value the stack would refuse, with the parser's message.
 */
export function checkSweepValues(sweep: NumericSweep, load: (overrides: Record<string, unknown>) => StackConfig): StackConfig[] {
  return sweep.values.map((v) => {
    try {
      return load(sweepOverride(sweep, v));
    } catch (err) {
      if (err instanceof ConfigError) throw new SweepSpecError(`--sweep pooling:${sweep.path}=${v} is refused by the stack config:\n${err.message}`);
      throw err;
    }
  });
}
