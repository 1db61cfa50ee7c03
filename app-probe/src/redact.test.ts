import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";
import { passwordsOf, redactText, redactUrl } from "./redact.ts";

describe("redaction", () => {
  it("masks only the password of a URL", () => {
    expect(redactUrl("postgres://app:pw%40x@pgbouncer:6432/app?sslmode=disable")).toBe("postgres://app:***@pgbouncer:6432/app?sslmode=disable");
    expect(redactUrl("redis://:pw@redis:6379")).toBe("redis://:***@redis:6379");
    expect(redactUrl("redis://redis:6379")).toBe("redis://redis:6379");
  });

  it("masks an unparsable URL whole", () => {
    expect(redactUrl("not a url with pw")).toBe("***");
  });

  it("masks credentials in URLs inside free text", () => {
    expect(redactText("connect to postgres://app:hunter22@db:5432/app failed")).toBe("connect to postgres://app:***@db:5432/app failed");
    expect(redactText("redis://:hunter22@r:6379 and http://u:p@x/")).toBe("redis://:***@r:6379 and http://u:***@x/");
  });

  it("masks known secrets wherever they appear", () => {
    expect(redactText('password "hunter22" rejected', ["hunter22"])).toBe('password "***" rejected');
  });

  it("collects raw and decoded passwords from URLs", () => {
    expect(passwordsOf(["postgres://a:p%40ss@h/db", undefined, "redis://h:1", "redis://:r3dis@h:1"]).sort()).toEqual(["p%40ss", "p@ss", "r3dis"].sort());
  });

  it("keeps secrets out of log lines, error messages and stacks", () => {
    const lines: string[] = [];
    const log = createLogger("info", ["hunter22"], { write: (l: string) => void lines.push(l) });
    log.warn({ err: new Error("auth failed for postgres://app:hunter22@db/app") }, "could not connect to redis://:hunter22@r:1");
    log.info({ password: "hunter22", config: { password: "hunter22" } }, "config");
    const all = lines.join("\n");
    expect(lines).toHaveLength(2);
    expect(all).not.toContain("hunter22");
    expect(all).toContain("postgres://app:***@db/app");
  });
});
