/**
 * `pulumi preview --policy-pack policy` with the real CLI: the language host starts the pack through
 * @pulumi/pulumi's run-policy-pack, the engine sends it every resource, and a mandatory violation fails
 * the preview. Render mode: no cluster is needed for a preview to reach the policies.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { engineMissing, engineProject, stopPulumis, type EngineProject } from "./project.ts";
import { skipReason } from "../skip.ts";

const missing = skipReason("test/engine/policy.test.ts", engineMissing());

describe.skipIf(missing !== undefined)(`the policy pack under the real engine${missing ? ` (skipped: ${missing})` : ""}`, () => {
  const made: EngineProject[] = [];
  const out = mkdtempSync(join(tmpdir(), "pooling-policy-out-"));
  afterAll(() => {
    stopPulumis();
    for (const p of made) p.remove();
    rmSync(out, { recursive: true, force: true });
  });

  async function preview(main?: string) {
    const project = engineProject(main ? { main } : {});
    made.push(project);
    const init = await project.pulumi(["stack", "init", "dev", "--secrets-provider", "passphrase"]);
    expect(init.code, init.stderr).toBe(0);
    const r = await project.pulumi(["preview", "--stack", "dev", "--policy-pack", "policy"], { POOLING_CLUSTER: "render", POOLING_RENDER_DIR: out });
    return { ...r, text: `${r.stdout}\n${r.stderr}` };
  }

  it("passes the dev stack, every policy of the pack run", async () => {
    const r = await preview();
    expect(r.code, r.text).toBe(0);
    expect(r.text).toMatch(/pooling@v0\.1\.0|Policies:\s*\n[^\n]*pooling/);
  }, 600_000);

  it("refuses PgBouncer replicas raised past the connection budget by a transform the config check never sees", async () => {
    const r = await preview("test/engine/fixtures/replicas-override.ts");
    expect(r.code).not.toBe(0);
    expect(r.text).toMatch(/pgbouncer-pools-fit-max-connections/);
    expect(r.text).toMatch(/mandatory/);
  }, 600_000);
});
