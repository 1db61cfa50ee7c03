/**
 * The local stack's secrets: generated with crypto on first start and kept in the data folder (mode
 * 0600), so a restart keeps the same passwords and verifiers.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { StackSecrets, UserSecret } from "../infra/render/index.ts";

const password = () => randomBytes(24).toString("base64url");
const user = (): UserSecret => ({ password: password(), salt: randomBytes(16).toString("base64") });

export function generateSecrets(): StackSecrets {
  return { superuser: user(), app: user(), pgbouncerAdmin: user(), pgbouncerStats: user(), redisPassword: password() };
}

export function loadOrCreateSecrets(file: string): StackSecrets {
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as StackSecrets;
  const secrets = generateSecrets();
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
