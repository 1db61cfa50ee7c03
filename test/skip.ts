/**
 * Why a suite that needs the toolchain, the control plane or root cannot run here. Outside CI it is
 * skipped with the reason printed; under CI (`.ci/run` builds the toolchain and runs as root) a reason is
 * a failure, so a skip can never hide a missing install step.
 */
export function skipReason(file: string, reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  if (process.env.CI === "true") throw new Error(`${file} cannot run under CI: ${reason}`);
  console.warn(`${file} is skipped: ${reason}`);
  return reason;
}
