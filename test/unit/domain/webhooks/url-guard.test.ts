/**
 * The SSRF guard's address ranges, its URL shape checks, and the delivery-time DNS lookup that
 * refuses a name resolving to a private address.
 */
import { expect } from "chai";
import { createGuardedLookup, isPrivateAddress, parseEndpointUrl } from "../../../../server/domain/webhooks/url-guard.ts";
import { signWebhook, verifyWebhook, webhookHeaders } from "../../../../server/domain/webhooks/webhook-signature.ts";

describe("webhook URL guard", () => {
  it("calls loopback, private, link-local, unique-local and mapped addresses private", () => {
    for (const a of ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.0.10", "169.254.169.254", "100.64.1.1", "0.0.0.0", "::1", "fd12::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "not-an-ip"]) {
      expect(isPrivateAddress(a), a).to.equal(true);
    }
    for (const a of ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]) {
      expect(isPrivateAddress(a), a).to.equal(false);
    }
  });

  it("accepts http and https URLs only, without credentials", () => {
    expect(parseEndpointUrl("https://example.com/hook").hostname).to.equal("example.com");
    for (const bad of ["ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "https://user:pw@example.com/", "not a url"]) {
      expect(() => parseEndpointUrl(bad), bad).to.throw().with.property("code", "invalid_webhook_url");
    }
  });

  it("refuses, at connection time, a name that resolves to loopback", async () => {
    const refused = await new Promise<NodeJS.ErrnoException | null>((resolve) => createGuardedLookup(false)("localhost", {}, (error) => resolve(error)));
    expect(refused?.code).to.equal("EPRIVATEADDRESS");
    const allowed = await new Promise<string | unknown>((resolve) => createGuardedLookup(true)("localhost", {}, (_e, address) => resolve(address)));
    expect(allowed).to.be.oneOf(["127.0.0.1", "::1"]);
  });
});

describe("webhook signatures", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

  it("matches the Standard Webhooks reference vector", () => {
    // From the Standard Webhooks specification's test suite.
    const body = '{"test": 2432232314}';
    expect(signWebhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)).to.equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("verifies any of several space-separated signatures", () => {
    const other = "whsec_" + Buffer.from("another secret key 123").toString("base64");
    const headers = webhookHeaders([other, secret], "msg_1", 1700000000, "{}");
    const parts = { id: headers["webhook-id"]!, timestamp: headers["webhook-timestamp"]!, signature: headers["webhook-signature"]! };
    expect(verifyWebhook(secret, parts, "{}")).to.equal(true);
    expect(verifyWebhook(other, parts, "{}")).to.equal(true);
    expect(verifyWebhook(secret, parts, "{ }")).to.equal(false);
  });
});
