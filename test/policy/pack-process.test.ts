/**
 * The pack started the way the Pulumi CLI starts a Node.js policy pack: @pulumi/pulumi's run-policy-pack
 * runner, in the pack's directory, with the runtime options after the script as the language host passes
 * them. It must print its gRPC port and answer GetAnalyzerInfo with the five policies. The CLI itself
 * is not here; this covers everything from the runner on.
 */
import type * as GrpcJs from "@grpc/grpc-js";
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { policies } from "../../policy/policies/index.ts";

const POLICY_DIR = fileURLToPath(new URL("../../policy/", import.meta.url));
// The very gRPC and protobuf modules the pack's server uses.
const fromPolicy = createRequire(`${POLICY_DIR}package.json`);
const runner = fromPolicy.resolve("@pulumi/pulumi/cmd/run-policy-pack");
const grpc = fromPolicy("@grpc/grpc-js") as typeof GrpcJs;
interface AnalyzerInfo {
  name: string;
  policiesList: Array<{ name: string; enforcementlevel: number }>;
}
const { AnalyzerClient } = fromPolicy("@pulumi/pulumi/proto/analyzer_grpc_pb.js") as {
  AnalyzerClient: new (address: string, creds: unknown) => {
    getAnalyzerInfo(req: unknown, cb: (err: Error | null, res: { toObject(): AnalyzerInfo }) => void): void;
    close(): void;
  };
};
/** pulumirpc.EnforcementLevel.MANDATORY */
const MANDATORY = 1;
const { Empty } = fromPolicy("google-protobuf/google/protobuf/empty_pb.js") as { Empty: new () => unknown };

const started: ChildProcess[] = [];
afterAll(() => {
  for (const p of started) p.kill();
});

function startPack(): Promise<number> {
  const child = spawn(process.execPath, [runner, "--import", "tsx", "127.0.0.1:1", POLICY_DIR], { cwd: POLICY_DIR, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  let stderr = "";
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (b: Buffer) => {
      const port = /^(\d+)\s*$/m.exec(b.toString())?.[1];
      if (port) resolve(Number(port));
    });
    child.on("exit", (code) => reject(new Error(`the pack exited with ${code} before printing its port:\n${stderr}`)));
  });
}

describe("the policy pack process", () => {
  it("starts under run-policy-pack and serves the five policies over gRPC", async () => {
    const port = await startPack();
    const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const info = await new Promise<AnalyzerInfo>((resolve, reject) =>
        client.getAnalyzerInfo(new Empty(), (err, res) => (err ? reject(err) : resolve(res.toObject()))),
      );
      expect(info.name).toBe("pooling");
      expect(info.policiesList.map((p) => [p.name, p.enforcementlevel])).toEqual(policies.map((p) => [p.name, MANDATORY]));
    } finally {
      client.close();
    }
  });
});
