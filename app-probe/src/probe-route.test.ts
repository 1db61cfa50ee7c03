import { describe, expect, it } from "vitest";
import { BadRequestError } from "./errors.ts";
import { defaultUpstreamUrl } from "./http-client.ts";
import { classifyPgError } from "./postgres.ts";
import { parseProbeQuery } from "./probe-route.ts";
import { classifyRedisError, reconnectDelayMs } from "./redis.ts";

const q = (s: string) => parseProbeQuery(new URLSearchParams(s));

describe("parseProbeQuery", () => {
  it("defaults to every part and the default key", () => {
    expect(q("")).toEqual({ parts: ["pg", "redis", "http"], key: "default" });
  });

  it("keeps the asked parts in a fixed order without duplicates", () => {
    expect(q("parts=http,pg,pg").parts).toEqual(["pg", "http"]);
  });

  it.each(["parts=", "parts=pg,sql", "key=", "key=has space", `key=${"k".repeat(65)}`, "key=a&key=b", "parts=pg&parts=redis"])(
    "rejects %s as a bad request",
    (query) => {
      expect(() => q(query)).toThrow(BadRequestError);
    },
  );
});

describe("error classification", () => {
  it("sorts pg errors into acquire timeout, connection and query", () => {
    expect(classifyPgError(new Error("timeout exceeded when trying to connect"))).toBe("acquire_timeout");
    expect(classifyPgError(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))).toBe("connection");
    expect(classifyPgError(Object.assign(new Error("terminating connection"), { code: "57P01" }))).toBe("connection");
    expect(classifyPgError(new Error("Connection terminated unexpectedly"))).toBe("connection");
    expect(classifyPgError(Object.assign(new Error("duplicate key"), { code: "23505" }))).toBe("query");
  });

  it("sorts redis errors into not connected, timeout, connection and command", () => {
    expect(classifyRedisError(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe("not_connected");
    expect(classifyRedisError(new Error("Command timed out"))).toBe("timeout");
    expect(classifyRedisError(new Error("Connection is closed."))).toBe("connection");
    expect(classifyRedisError(Object.assign(new Error("WRONGTYPE"), { name: "ReplyError" }))).toBe("command");
  });
});

describe("reconnectDelayMs", () => {
  it("backs off exponentially with jitter and never waits more than two seconds", () => {
    expect(reconnectDelayMs(1, () => 0)).toBe(25);
    expect(reconnectDelayMs(1, () => 1)).toBe(50);
    expect(reconnectDelayMs(4, () => 1)).toBe(400);
    expect(reconnectDelayMs(100, () => 1)).toBe(2000);
  });
});

describe("defaultUpstreamUrl", () => {
  it("reaches a wildcard listener over loopback and brackets IPv6 hosts", () => {
    expect(defaultUpstreamUrl("0.0.0.0", 8080)).toBe("http://127.0.0.1:8080/upstream");
    expect(defaultUpstreamUrl("::", 8080)).toBe("http://127.0.0.1:8080/upstream");
    expect(defaultUpstreamUrl("::1", 9)).toBe("http://[::1]:9/upstream");
    expect(defaultUpstreamUrl("10.0.0.5", 1)).toBe("http://10.0.0.5:1/upstream");
  });
});
