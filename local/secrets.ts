/**
 * The local stack's secrets: generated on first start and kept in the data folder (mode 0600), so a
 * restart keeps the same passwords and verifiers.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { generateSecrets, type StackSecrets } from "../infra/render/index.ts";

export function loadOrCreateSecrets(file: string): StackSecrets {
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as StackSecrets;
  const secrets = generateSecrets();
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
