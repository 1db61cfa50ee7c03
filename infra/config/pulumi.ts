/** Reads the stack config through Pulumi's own loader, for `pulumi up` and `pulumi preview`. */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseStackConfig, type ParseOptions, type StackConfig } from "./index.ts";
import { PROJECT } from "./file.ts";

function decode(value: string): unknown {
  const t = value.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.parse(t);
    } catch {
      return value;
    }
  }
  return value;
}

/**
 * Every `pooling:` key Pulumi knows for this stack, so a misspelt top-level key is reported rather than
 * silently ignored (pulumi.Config would only return the keys asked for).
 */
export function loadPulumiStackConfig(opts: Pick<ParseOptions, "versions"> = {}): StackConfig {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
    if (k.startsWith(`${PROJECT}:`)) raw[k.slice(PROJECT.length + 1)] = decode(v);
  }
  try {
    return parseStackConfig(raw, { stack: pulumi.getStack(), ...opts });
  } catch (err) {
    if (err instanceof ConfigError) throw new InvalidStackConfig(err);
    throw err;
  }
}

/**
 * A ConfigError as the Pulumi engine should show it: @pulumi/pulumi's Node.js runner prints any other
 * error thrown by the program as an unhandled exception with its stack, and a `pulumi.RunError` as its
 * message alone (sdk/nodejs/cmd/run/run.ts at v3.248.0, the uncaught-error handler's RunError branch).
 */
export class InvalidStackConfig extends pulumi.RunError {
  readonly code = "POOLING_INVALID_CONFIG";
  constructor(readonly configError: ConfigError) {
    super(configError.message);
    this.name = "InvalidStackConfig";
  }
}
