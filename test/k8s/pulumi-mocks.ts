/**
 * Pulumi mocks that record every registered resource's inputs, and give the engine's Stash and
 * @pulumi/docker the outputs the program reads. Set them before importing the module under test.
 */
import * as pulumi from "@pulumi/pulumi";
import { KIND } from "../../infra/k8s/kind.ts";

export interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  custom: boolean;
}

export const recorded: Recorded[] = [];

export const MOCK_DIGEST = `localhost:${KIND.registryHostPort}/pooling-probe@sha256:0123456789abcdef`;

function outputsOf(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  switch (args.type) {
    // The engine's Stash (pkg/resource/deploy/builtins.go): a created Stash's output is its input.
    case "pulumi:index:Stash":
      return { ...args.inputs, output: unwrapSecret(args.inputs.input) };
    case "docker:index/image:Image":
      return { ...args.inputs, repoDigest: MOCK_DIGEST };
    case "docker:index/remoteImage:RemoteImage":
      return { ...args.inputs, imageId: "sha256:registry" };
    default:
      return args.inputs;
  }
}

export async function setRecordingMocks(): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown>, custom: args.custom ?? false });
        return { id: `${args.name}-id`, state: outputsOf(args) };
      },
      call(args) {
        return args.inputs as Record<string, unknown>;
      },
    },
    "pooling",
    "dev",
    false,
  );
}

/** Resolves an Output's value (undefined while previewing unknowns). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/**
 * Resolves once every registration the program started has finished, including those started while
 * waiting (an `apply` that registers more). It waits on the queue of pending RPCs that the Pulumi
 * runtime itself drains before a program exits: `waitForRPCs` in @pulumi/pulumi's runtime/settings.js,
 * exported but marked internal, so typed here.
 */
export async function settled(): Promise<void> {
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

/** URN of every registered resource; the type part is the parent chain, `Parent$Child`. */
export function urns(): string[] {
  const monitor = pulumi.runtime.getMonitor() as unknown as { resources?: Map<string, unknown> };
  return [...(monitor.resources?.keys() ?? [])];
}

export function parentTypeOf(name: string): string | undefined {
  const urn = urns().find((u) => u.endsWith(`::${name}`));
  const chain = urn?.split("::")[2]?.split("$");
  return chain && chain.length > 1 ? chain[chain.length - 2] : undefined;
}

export const byType = (type: string) => recorded.filter((r) => r.type === type);
export const named = (name: string) => {
  const r = recorded.find((x) => x.name === name);
  if (!r) throw new Error(`no resource named ${name}; registered: ${recorded.map((x) => x.name).join(", ")}`);
  return r;
};

/** The special key Pulumi's wire format marks a secret value with (sdk/nodejs/runtime/rpc.ts, specialSigKey). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** A recorded input as the program gave it: a secret arrives wrapped as `{ [SIG_KEY]: …, value }`. */
export function unwrapSecret(v: unknown): unknown {
  return v !== null && typeof v === "object" && SIG_KEY in v ? (v as unknown as { value: unknown }).value : v;
}

/** Whether a recorded input arrived as a secret. */
export const wasSecret = (v: unknown): boolean => v !== null && typeof v === "object" && SIG_KEY in v;

/** The value a Stash of the program stored: what the secrets built from it hold. */
export function stashed<T>(name: string): T {
  const r = recorded.find((x) => x.type === "pulumi:index:Stash" && x.name === name);
  if (!r) throw new Error(`no Stash named ${name} was registered`);
  return unwrapSecret(r.inputs.input) as T;
}
