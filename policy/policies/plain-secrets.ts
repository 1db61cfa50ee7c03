/**
 * Policy 4: no secret in a ConfigMap or a plain `env[].value`. Both are readable by anyone who may read
 * the namespace's config and are printed by `kubectl describe`; secrets belong in a Secret, referenced
 * with `valueFrom.secretKeyRef` or mounted. Messages name the key and the kind of finding, never the
 * value: a violation is printed in CI logs.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { CONFIG_MAP_TYPE, configMapData, containersOf, isRecord, podSpecOf } from "./k8s.ts";

/** Words that make a name a secret's name wherever they stand in it, even run together (`PGPASSWORD`). */
const SECRET_WORDS = ["password", "passwd", "passphrase", "secret", "token", "credential", "apikey"];
/**
 * Words that make a name a secret's name only as its last word: `API_KEY` and `DATA_SOURCE_PASS` hold
 * secrets, `KEY_PREFIX` does not.
 */
const SECRET_LAST_WORDS = new Set(["key", "pass", "pwd", "auth"]);
/**
 * A last word that says the value is about a secret, not the secret itself: `POSTGRES_PASSWORD_FILE` is
 * a path, `password_encryption` a method, `TOKEN_TTL` a duration.
 */
const NOT_A_SECRET_LAST_WORDS = new Set(["file", "path", "dir", "encryption", "type", "ref", "name", "mode", "length", "ttl", "timeout", "lifetime", "expiry", "users", "user", "method", "url", "uri"]);

/** `DB_PASSWORD`, `dbPassword`, `db-password`, `db.password` → ["db", "password"]. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== "");
}

export function isSecretName(name: string): boolean {
  const ws = words(name);
  const last = ws.at(-1);
  if (last === undefined || NOT_A_SECRET_LAST_WORDS.has(last)) return false;
  return SECRET_LAST_WORDS.has(last) || ws.some((w) => SECRET_WORDS.some((s) => w.includes(s)));
}

/** `$(VAR)` is expanded by the kubelet from another env var, `${VAR}` by a shell: a reference, not a secret. */
function isReference(value: string): boolean {
  return /^\$(\([A-Za-z_][\w.-]*\)|\{[A-Za-z_][\w.-]*\}|[A-Za-z_]\w*)$/.test(value);
}

const unquote = (v: string) => v.trim().replace(/^(["'])(.*)\1$/, "$2");

/** The kinds of secret found in a text (a config file, an env value); empty when there is none. */
export function secretsInText(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:([^\s@/]*)@/gi)) {
    if (m[1] !== undefined && m[1] !== "" && !isReference(m[1])) found.add("a URL with a password (scheme://user:password@host)");
  }
  for (const m of text.matchAll(/^\s*(requirepass|masterauth)\s+(\S+)/gim)) {
    if (m[2] !== undefined && !isReference(unquote(m[2]))) found.add(`a Redis "${m[1]?.toLowerCase()}" password`);
  }
  if (/SCRAM-SHA-256\$/.test(text)) found.add("a SCRAM-SHA-256 verifier");
  // PKCS#8, PKCS#1 (RSA), SEC1 (EC) and encrypted keys alike: a TLS key belongs in a Secret, its certificate may be anywhere.
  if (/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/.test(text)) found.add("a PEM private key");
  if (/\bmd5[0-9a-f]{32}\b/.test(text)) found.add("an MD5 password hash");
  for (const line of text.split("\n")) {
    // A comment may talk about a password; a real one in a comment is still caught by the patterns above.
    if (/^\s*(#|;|\/\/)/.test(line)) continue;
    // `key = value`, `key: value`, and libpq's `host=x password=y` inside a line.
    for (const m of line.matchAll(/(?:^|[\s{,;])["']?([A-Za-z_][\w.-]*)["']?\s*[=:]\s*("[^"]*"|'[^']*'|[^\s,;#]*)/g)) {
      const [, key = "", raw = ""] = m;
      const value = unquote(raw);
      if (value !== "" && !isReference(value) && isSecretName(key)) found.add(`a value for "${key}"`);
    }
  }
  return [...found];
}

export function configMapSecretProblems(data: Record<string, string>): string[] {
  return Object.entries(data).flatMap(([key, value]) => {
    const findings = isSecretName(key) && value.trim() !== "" && !isReference(value.trim()) ? ["a value under a secret's name"] : [];
    findings.push(...secretsInText(value));
    return findings.length > 0 ? [`data["${key}"] holds ${findings.join(", ")}: move it to a Secret.`] : [];
  });
}

export function envSecretProblems(label: string, env: unknown): string[] {
  if (!Array.isArray(env)) return [];
  return env.filter(isRecord).flatMap((e) => {
    const name = typeof e.name === "string" ? e.name : "?";
    if (typeof e.value !== "string" || e.value === "") return [];
    const findings = isSecretName(name) && !isReference(e.value) ? ["a value under a secret's name"] : [];
    findings.push(...secretsInText(e.value));
    return findings.length > 0 ? [`${label} env ${name} holds ${findings.join(", ")} in plain text: use valueFrom.secretKeyRef.`] : [];
  });
}

export const noPlainSecrets: ResourceValidationPolicy = {
  name: "no-secrets-in-configmaps-or-env",
  description: "No password, token, key, credential URL, requirepass or SCRAM verifier in a ConfigMap's data or a container's plain env value.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type === CONFIG_MAP_TYPE) {
      for (const p of configMapSecretProblems(configMapData(args.props))) reportViolation(p);
      return;
    }
    const pod = podSpecOf(args.type, args.props);
    if (!pod) return;
    for (const { label, c } of containersOf(pod)) for (const p of envSecretProblems(label, c.env)) reportViolation(p);
  },
};
