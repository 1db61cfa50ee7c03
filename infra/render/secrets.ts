/**
 * The stack's generated secrets, from crypto: Kubernetes keeps them in Pulumi state (a Stash), the local stack in its data folder;
 * both hand them to the same renderers. Salts are part of the secrets so verifiers are stable across
 * renders (a new salt would change userlist.txt and the role on every run).
 */
import { randomBytes } from "node:crypto";
import { scramVerifier } from "./scram.ts";

export interface UserSecret {
  password: string;
  /** base64, at least 16 bytes. */
  salt: string;
}

export interface StackSecrets {
  /** The PostgreSQL superuser `postgres`. */
  superuser: UserSecret;
  /** The application role (`pooling:postgres.user`). */
  app: UserSecret;
  /** PgBouncer's admin console user. */
  pgbouncerAdmin: UserSecret;
  /** PgBouncer's read-only stats user. */
  pgbouncerStats: UserSecret;
  redisPassword: string;
}

export function verifierOf(secret: UserSecret): string {
  return scramVerifier(secret.password, Buffer.from(secret.salt, "base64"));
}

const password = () => randomBytes(24).toString("base64url");
const userSecret = (): UserSecret => ({ password: password(), salt: randomBytes(16).toString("base64") });

/**
 * Fresh secrets from crypto: the local stack's (kept in its data folder) and `npm run render`'s
 * throw-away ones, and the Pulumi program's first run, whose values a Stash then keeps in state.
 */
export function generateSecrets(): StackSecrets {
  return { superuser: userSecret(), app: userSecret(), pgbouncerAdmin: userSecret(), pgbouncerStats: userSecret(), redisPassword: password() };
}
