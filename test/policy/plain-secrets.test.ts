import { describe, expect, it } from "vitest";
import { noPlainSecrets } from "../../policy/policies/index.ts";
import { isSecretName, secretsInText } from "../../policy/policies/plain-secrets.ts";
import { devConfig } from "../k8s/fixtures.ts";
import { createStackCa, issueStackLeaves } from "../../infra/render/index.ts";
import { kubernetesServerNames } from "../../infra/k8s/manifests/index.ts";
import { messages, podOf, realManifest, realManifests, validate } from "./fakes.ts";

const PASSWORD = "Hunter2Hunter2Hunter2";

async function testCertificates() {
  const cfg = devConfig();
  const ca = await createStackCa(cfg);
  return { ca: ca.cert, leaves: await issueStackLeaves(cfg, ca, kubernetesServerNames(cfg)) };
}

describe("policy no-secrets-in-configmaps-or-env", () => {
  it("passes every rendered manifest, ConfigMaps included", async () => {
    const all = realManifests();
    expect(all.filter((m) => m.kind === "ConfigMap").length).toBeGreaterThanOrEqual(3);
    for (const m of all) expect(messages(await validate(noPlainSecrets, m)), `${String(m.kind)}`).toEqual([]);
  });

  it("reports requirepass in redis.conf and a password in pgbouncer.ini's connection string, without echoing them", async () => {
    const redis = realManifest("ConfigMap", "redis-config");
    const data = redis.data as Record<string, string>;
    data["redis.conf"] += `requirepass ${PASSWORD}\n`;
    const pgbouncer = realManifest("ConfigMap", "pgbouncer-config");
    const ini = pgbouncer.data as Record<string, string>;
    ini["pgbouncer.ini"] = ini["pgbouncer.ini"]!.replace("dbname=app", `dbname=app password=${PASSWORD}`);
    const found = [...messages(await validate(noPlainSecrets, redis)), ...messages(await validate(noPlainSecrets, pgbouncer))];
    expect(found).toEqual([
      'data["redis.conf"] holds a Redis "requirepass" password: move it to a Secret.',
      'data["pgbouncer.ini"] holds a value for "password": move it to a Secret.',
    ]);
    expect(found.join("\n")).not.toContain(PASSWORD);
  });

  it("reports a SCRAM verifier and a secret-named key in a ConfigMap", async () => {
    const cm = realManifest("ConfigMap", "postgres-config");
    cm.data = { "userlist.txt": `"app" "SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2VydmVy"`, API_TOKEN: "abc123" };
    expect(messages(await validate(noPlainSecrets, cm))).toEqual([
      'data["userlist.txt"] holds a SCRAM-SHA-256 verifier: move it to a Secret.',
      'data["API_TOKEN"] holds a value under a secret\'s name: move it to a Secret.',
    ]);
  });

  it("reports a TLS private key in a ConfigMap, not a certificate", async () => {
    const cm = realManifest("ConfigMap", "redis-config");
    const { ca, leaves } = await testCertificates();
    cm.data = { "ca.crt": ca, "tls.crt": leaves.redis.cert };
    expect(messages(await validate(noPlainSecrets, cm))).toEqual([]);
    cm.data = { "tls.crt": leaves.redis.cert, "server.pem": leaves.redis.key, "legacy.pem": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n" };
    expect(messages(await validate(noPlainSecrets, cm))).toEqual([
      'data["server.pem"] holds a PEM private key: move it to a Secret.',
      'data["legacy.pem"] holds a PEM private key: move it to a Secret.',
    ]);
  });

  it("reports a plain env password and a URL with a password, not the same vars taken from a Secret", async () => {
    const d = realManifest("Deployment", "app-probe");
    const env = podOf(d).containers[0].env as Array<Record<string, unknown>>;
    env.push({ name: "PGPASSWORD", value: PASSWORD }, { name: "CACHE", value: `redis://:${PASSWORD}@redis:6379/0` });
    expect(messages(await validate(noPlainSecrets, d))).toEqual([
      'container "app-probe" env PGPASSWORD holds a value under a secret\'s name in plain text: use valueFrom.secretKeyRef.',
      'container "app-probe" env CACHE holds a URL with a password (scheme://user:password@host) in plain text: use valueFrom.secretKeyRef.',
    ]);
  });

  it("tells secret names from names about secrets", () => {
    for (const name of ["PASSWORD", "DB_PASSWORD", "dbPassword", "API_KEY", "DATA_SOURCE_PASS", "SECRET_KEY_BASE", "auth-token"]) expect(isSecretName(name), name).toBe(true);
    for (const name of ["POSTGRES_PASSWORD_FILE", "password_encryption", "KEY_PREFIX", "auth_type", "stats_users", "TOKEN_TTL", "PG_POOL_MAX"]) expect(isSecretName(name), name).toBe(false);
  });

  it("leaves references and empty passwords alone", () => {
    expect(secretsInText("postgres://stats:$(STATS_PASSWORD)@127.0.0.1:6432/pgbouncer")).toEqual([]);
    expect(secretsInText("postgres://app@db:5432/app")).toEqual([]);
    expect(secretsInText("password = ${DB_PASSWORD}\n# requirepass foobared")).toEqual([]);
  });
});
