/**
 * Outgoing mail. With SMTP_URL, nodemailer sends over SMTP. Without it, development writes the
 * whole message (links included) to the log so a local setup needs no mail server; production
 * and tests log only that a message could not be sent, never its content (it carries tokens).
 */
import nodemailer, { type Transporter } from "nodemailer";
import { logger } from "../logger.ts";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export interface MailerOptions {
  smtpUrl: string | null;
  from: string;
  env: "development" | "production" | "test";
}

export function createMailer(options: MailerOptions): Mailer {
  if (!options.smtpUrl) {
    return {
      async send(message) {
        if (options.env === "development") {
          logger.info("Mail (no SMTP_URL configured, written to the log)", { to: message.to, subject: message.subject, text: message.text });
        } else {
          logger.warn("Mail not sent: SMTP_URL is not configured", { subject: message.subject });
        }
      },
      close() {},
    };
  }
  const transport: Transporter = nodemailer.createTransport(options.smtpUrl);
  return {
    async send(message) {
      await transport.sendMail({ from: options.from, to: message.to, subject: message.subject, text: message.text });
    },
    close() {
      transport.close();
    },
  };
}
