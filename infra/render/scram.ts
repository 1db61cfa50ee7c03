/**
 * SCRAM-SHA-256 verifiers (RFC 5802/7677) as PostgreSQL stores them in pg_authid and PgBouncer reads them
 * from userlist.txt. The same verifier goes to both, which is what lets PgBouncer log in to PostgreSQL on
 * a client's behalf without ever holding the password.
 */
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";

export const SCRAM_ITERATIONS = 4096;

export function scramVerifier(password: string, salt: Buffer, iterations = SCRAM_ITERATIONS): string {
  if (salt.length < 16) throw new Error("a SCRAM salt needs at least 16 bytes");
  // PostgreSQL applies SASLprep; NFKC covers it for the ASCII passwords this project generates.
  const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
