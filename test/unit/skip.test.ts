/** A suite that cannot run skips with its reason, except under .ci/run (POOLING_NO_SKIPS=1), where it fails. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { NO_SKIPS_ENV, skipReason } from "../skip.ts";

describe("skipReason", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("is nothing when the suite can run", () => {
    vi.stubEnv(NO_SKIPS_ENV, "1");
    expect(skipReason("x.test.ts", undefined)).toBeUndefined();
  });

  it("skips with the reason on a hosted runner (CI=true), which does not build the engine", () => {
    vi.stubEnv("CI", "true");
    vi.stubEnv(NO_SKIPS_ENV, "");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    expect(skipReason("x.test.ts", "no toolchain")).toBe("no toolchain");
    expect(warn).toHaveBeenCalledWith("x.test.ts is skipped: no toolchain");
  });

  it("fails under .ci/run, so a missing install step cannot hide behind a skip", () => {
    vi.stubEnv(NO_SKIPS_ENV, "1");
    expect(() => skipReason("x.test.ts", "no toolchain")).toThrow("x.test.ts cannot run under POOLING_NO_SKIPS=1 (.ci/run): no toolchain");
  });
});
