/**
 * Why a suite that needs the toolchain, the control plane or root cannot run here. It is skipped with the
 * reason printed, except under `.ci/run`, which builds the toolchain, runs as root and sets
 * POOLING_NO_SKIPS=1: there a reason is a failure, so a skip can never hide a missing install step. Not
 * the generic CI=true, which every hosted runner sets: the users' preview workflow runs the suite
 * without building the engine from source, and skips those suites with their reason.
 */
export const NO_SKIPS_ENV = "POOLING_NO_SKIPS";

export function skipReason(file: string, reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  if (process.env[NO_SKIPS_ENV] === "1") throw new Error(`${file} cannot run under ${NO_SKIPS_ENV}=1 (.ci/run): ${reason}`);
  console.warn(`${file} is skipped: ${reason}`);
  return reason;
}
