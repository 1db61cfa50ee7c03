/** Parsing helpers the config tests share: a failure lists every problem, as the user would read them. */
import { expect } from "vitest";
import { checkStackConfig, formatProblem, type ParseOptions, type Problem, type StackConfig } from "../../infra/config/index.ts";

export const OPTS: ParseOptions = { stack: "test" };

/** The config, or a failure that lists every problem. */
export function accepted(raw: unknown, opts: ParseOptions = OPTS): StackConfig {
  const result = checkStackConfig(raw, opts);
  if (!result.ok) expect.fail(`expected the config to be accepted, got:\n${result.problems.map(formatProblem).join("\n")}`);
  return result.config;
}

export function problemsOf(raw: unknown, opts: ParseOptions = OPTS): Problem[] {
  const result = checkStackConfig(raw, opts);
  if (result.ok) expect.fail("expected the config to be rejected, but it was accepted");
  return result.problems;
}
