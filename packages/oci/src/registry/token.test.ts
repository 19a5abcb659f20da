import { describe, expect, it } from "vitest";
import { challengeScopes, parseTokenResponse, tokenRequestUrl } from "./token.ts";

const challenge = (params: Record<string, string>) => ({ scheme: "bearer", params });

describe("tokenRequestUrl", () => {
  it("asks the realm for the service and each scope", () => {
    const url = tokenRequestUrl(challenge({ realm: "https://auth.example.com/token?x=1", service: "reg" }), [
      "repository:a:pull",
      "repository:b:pull",
    ]);
    expect(url.origin + url.pathname).toBe("https://auth.example.com/token");
    expect(url.searchParams.get("x")).toBe("1");
    expect(url.searchParams.get("service")).toBe("reg");
    expect(url.searchParams.getAll("scope")).toEqual(["repository:a:pull", "repository:b:pull"]);
  });

  it("refuses a challenge without a realm or with a realm that is not http(s)", () => {
    expect(() => tokenRequestUrl(challenge({ service: "reg" }), [])).toThrow(/no realm/);
    expect(() => tokenRequestUrl(challenge({ realm: "file:///etc/passwd" }), [])).toThrow(/not http/);
  });
});

describe("challengeScopes", () => {
  it("uses the scopes the challenge names, else ours", () => {
    expect(
      challengeScopes(challenge({ scope: "repository:a:pull repository:b:pull" }), "repository:c:pull"),
    ).toEqual(["repository:a:pull", "repository:b:pull"]);
    expect(challengeScopes(challenge({}), "repository:c:pull")).toEqual(["repository:c:pull"]);
    expect(challengeScopes(challenge({}), undefined)).toEqual([]);
  });
});

describe("parseTokenResponse", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  it("reads token, or access_token when there is no token", () => {
    expect(parseTokenResponse({ token: "t1" }, now).token).toBe("t1");
    expect(parseTokenResponse({ access_token: "t2" }, now).token).toBe("t2");
  });

  it("expires tokens a little before expires_in runs out, and never in under 60 s", () => {
    expect(parseTokenResponse({ token: "t", expires_in: 300 }, now).expiresAt).toBe(now + 270_000);
    expect(parseTokenResponse({ token: "t", expires_in: 5 }, now).expiresAt).toBe(now + 54_000);
  });

  it("counts from issued_at when it agrees with our clock, from now when it does not", () => {
    const issued = "2025-01-01T00:00:10Z";
    expect(parseTokenResponse({ token: "t", expires_in: 100, issued_at: issued }, now).expiresAt).toBe(
      now + 10_000 + 90_000,
    );
    const skewed = "2024-01-01T00:00:00Z";
    expect(parseTokenResponse({ token: "t", expires_in: 100, issued_at: skewed }, now).expiresAt).toBe(
      now + 90_000,
    );
  });

  it("refuses an answer without a token", () => {
    expect(() => parseTokenResponse({ expires_in: 60 }, now)).toThrow(/neither "token" nor "access_token"/);
    expect(() => parseTokenResponse("token", now)).toThrow(/not a JSON object/);
  });
});
