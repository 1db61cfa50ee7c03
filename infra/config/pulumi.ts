/** Reads the stack config through Pulumi's own loader, for `pulumi up` and `pulumi preview`. */
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, type StackConfig } from "./index.ts";
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
export function loadPulumiStackConfig(): StackConfig {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
    if (k.startsWith(`${PROJECT}:`)) raw[k.slice(PROJECT.length + 1)] = decode(v);
  }
  return parseStackConfig(raw, { stack: pulumi.getStack() });
}
