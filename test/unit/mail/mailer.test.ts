import { expect } from "chai";
import Transport from "winston-transport";
import { logger } from "../../../server/logger.ts";
import { createMailer } from "../../../server/mail/mailer.ts";

class Capture extends Transport {
  entries: Array<Record<string, unknown>> = [];
  override log(info: Record<string, unknown>, next: () => void): void {
    this.entries.push(info);
    next();
  }
}

describe("mailer without SMTP", () => {
  let capture: Capture;
  let level: string;
  let quieted: Array<{ silent?: boolean }> = [];

  beforeEach(() => {
    capture = new Capture();
    level = logger.level;
    logger.level = "info";
    quieted = logger.transports.filter((t) => !t.silent);
    for (const t of quieted) t.silent = true;
    logger.add(capture);
  });
  afterEach(() => {
    logger.remove(capture);
    for (const t of quieted) t.silent = false;
    logger.level = level;
  });

  it("writes the whole message to the log in development", async () => {
    await createMailer({ smtpUrl: null, from: "x@y", env: "development" }).send({ to: "a@b.test", subject: "Hi", text: "link?token=abc" });
    const entry = capture.entries.find((e) => e.to === "a@b.test");
    expect(entry?.text).to.equal("link?token=abc");
  });

  it("never logs the content in production", async () => {
    await createMailer({ smtpUrl: null, from: "x@y", env: "production" }).send({ to: "a@b.test", subject: "Hi", text: "link?token=abc" });
    expect(JSON.stringify(capture.entries)).to.not.include("token=abc");
    expect(capture.entries.some((e) => e.subject === "Hi")).to.equal(true);
  });
});
