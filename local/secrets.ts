/**
 * The local stack's secrets: generated on first start and kept in the data folder (mode 0600), so a
 * restart keeps the same passwords and verifiers.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { generateSecrets, type StackSecrets } from "../infra/render/index.ts";
import { SecretsFileError } from "./errors.ts";

// What generateSecrets() writes; checked on read so a hand-edited file fails here, with its name, rather
// than deep in a renderer. The Redis password goes into a URL unescaped, hence URL-safe characters only.
const userSecret = z.object({
  password: z.string().min(1),
  salt: z.base64().refine((s) => Buffer.from(s, "base64").length >= 16, "a salt needs at least 16 bytes"),
});
const secretsSchema = z.object({
  superuser: userSecret,
  app: userSecret,
  pgbouncerAdmin: userSecret,
  pgbouncerStats: userSecret,
  redisPassword: z.string().regex(/^[A-Za-z0-9_-]+$/, "URL-safe letters, digits, _ and - only"),
});

export function loadOrCreateSecrets(file: string): StackSecrets {
  if (existsSync(file)) return readSecrets(file);
  const secrets = generateSecrets();
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

function readSecrets(file: string): StackSecrets {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new SecretsFileError(file, `not JSON (${(err as Error).message})`);
  }
  const parsed = secretsSchema.safeParse(raw);
  if (!parsed.success) {
    // Paths only: the values are secrets.
    throw new SecretsFileError(file, parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "(top)"}: ${i.message}`).join("; "));
  }
  return parsed.data;
}
