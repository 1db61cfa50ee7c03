/**
 * The pack as a whole: every policy registered once, mandatory. index.ts itself is not imported: its
 * PolicyPack starts a gRPC server. That index.ts hands this list to the PolicyPack is checked by
 * pack-process.test.ts, which starts the pack and reads the policies back over gRPC.
 */
import { describe, expect, it } from "vitest";
import { policies } from "../../policy/policies/index.ts";

describe("the policy pack", () => {
  it("registers all five policies, each mandatory and uniquely named", () => {
    expect(policies.map((p) => p.name)).toEqual([
      "containers-have-resources-and-probes",
      "pods-meet-restricted-pod-security-standard",
      "images-are-pinned",
      "no-secrets-in-configmaps-or-env",
      "pgbouncer-pools-fit-max-connections",
    ]);
    for (const p of policies) expect(p.enforcementLevel, p.name).toBe("mandatory");
  });
});
