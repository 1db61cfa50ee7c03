/** The pack as a whole: every policy registered once, mandatory. index.ts itself is not imported: its PolicyPack starts a gRPC server. */
import { readFileSync } from "node:fs";
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

  it("passes that list to the PolicyPack in index.ts", () => {
    const index = readFileSync(new URL("../../policy/index.ts", import.meta.url), "utf8");
    expect(index).toMatch(/import \{ policies \} from "\.\/policies\/index\.ts"/);
    expect(index).toMatch(/new PolicyPack\("pooling", \{ policies, enforcementLevel: "mandatory"/);
  });
});
