/**
 * Team accounts: registration, password login, email verification and password reset. Passwords
 * are bcrypt hashes; a failed login costs the same whether or not the email exists, and
 * forgot-password answers the same either way, so neither reveals who has an account.
 */
import { randomUUID } from "node:crypto";
import bcrypt from "bcryptjs";
import type { Database } from "../../../db/index.ts";
import type { User } from "../../../db/models/index.ts";
import { BadRequestError, ConflictError } from "../../errors.ts";
import type { Mailer } from "../../mail/mailer.ts";
import { logger } from "../../logger.ts";
import type { Clock } from "../clock.ts";
import { EmailTokens } from "./email-tokens.ts";

export interface UserView {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
  createdAt: string;
}

export interface AccountServiceOptions {
  db: Database;
  mailer: Mailer;
  bcryptRounds: number;
  publicUrl: string;
  clock: Clock;
}

export function toUserView(user: User): UserView {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    // An instance fresh from an INSERT on SQLite has it undefined, not null: truthiness, not !== null.
    emailVerified: Boolean(user.emailVerifiedAt),
    createdAt: user.createdAt.toISOString(),
  };
}

export class AccountService {
  private readonly db: Database;
  private readonly mailer: Mailer;
  private readonly rounds: number;
  private readonly publicUrl: string;
  private readonly clock: Clock;
  private readonly tokens: EmailTokens;
  private dummyHash: string | null = null;

  constructor(options: AccountServiceOptions) {
    this.db = options.db;
    this.mailer = options.mailer;
    this.rounds = options.bcryptRounds;
    this.publicUrl = options.publicUrl.replace(/\/$/, "");
    this.clock = options.clock;
    this.tokens = new EmailTokens(options.db, options.clock);
  }

  async register(input: { email: string; password: string; name: string }): Promise<UserView> {
    const email = input.email.toLowerCase();
    const { User } = this.db.models;
    if (await User.findOne({ where: { email }, attributes: ["id"] })) throw new ConflictError("An account already uses this email", "email_taken");
    const passwordHash = await bcrypt.hash(input.password, this.rounds);
    let user: User;
    try {
      user = await User.create({ id: randomUUID(), email, name: input.name, passwordHash });
    } catch (error) {
      if ((error as Error).name === "SequelizeUniqueConstraintError") throw new ConflictError("An account already uses this email", "email_taken");
      throw error;
    }
    await this.sendVerification(user);
    return toUserView(user);
  }

  /** Check a password; null for an unknown email or a wrong password (same cost either way). */
  async checkPassword(email: string, password: string): Promise<User | null> {
    const user = await this.db.models.User.findOne({ where: { email: email.toLowerCase() } });
    if (!user) {
      this.dummyHash ??= await bcrypt.hash("not-a-real-password", this.rounds);
      await bcrypt.compare(password, this.dummyHash);
      return null;
    }
    return (await bcrypt.compare(password, user.passwordHash)) ? user : null;
  }

  async findUser(id: string): Promise<User | null> {
    return this.db.models.User.findByPk(id);
  }

  async verifyEmail(token: string): Promise<UserView> {
    const userId = await this.tokens.consume(token, "verify_email");
    const user = userId ? await this.findUser(userId) : null;
    if (!user) throw new BadRequestError("The verification link is invalid, used or expired", "invalid_token");
    if (!user.emailVerifiedAt) await user.update({ emailVerifiedAt: this.clock() });
    return toUserView(user);
  }

  /** Send a new verification mail; answers the same whether or not the email has an account. */
  async resendVerification(email: string): Promise<void> {
    const user = await this.db.models.User.findOne({ where: { email: email.toLowerCase() } });
    if (user && !user.emailVerifiedAt) {
      // Not awaited, like forgot-password, so the answer time does not tell who has an account.
      void this.sendVerification(user).catch((error: Error) => logger.error("Sending a verification mail failed", { error: error.message }));
    }
  }

  /** Always resolves the same way; mails a reset link only when the account exists. */
  async forgotPassword(email: string): Promise<void> {
    const user = await this.db.models.User.findOne({ where: { email: email.toLowerCase() } });
    if (!user) return;
    const token = await this.tokens.issue(user.id, "reset_password");
    // Not awaited: answering only after the SMTP round trip would tell who has an account.
    void this.deliver({
      to: user.email,
      subject: "Reset your SyncForge password",
      text:
        `Someone asked to reset the password of your SyncForge account.\n\n` +
        `Reset it within an hour: ${this.publicUrl}/reset-password?token=${token}\n\n` +
        `If it was not you, ignore this message.\n`,
    });
  }

  /** Set a new password from a reset token; ends the user's sessions (returns the user id). */
  async resetPassword(token: string, password: string): Promise<UserView> {
    const userId = await this.tokens.consume(token, "reset_password");
    const user = userId ? await this.findUser(userId) : null;
    if (!user) throw new BadRequestError("The reset link is invalid, used or expired", "invalid_token");
    const passwordHash = await bcrypt.hash(password, this.rounds);
    // Receiving the mail proves the address, too.
    await user.update({ passwordHash, emailVerifiedAt: user.emailVerifiedAt ?? this.clock() });
    await this.tokens.revokeAll(user.id, "reset_password");
    await this.db.models.Session.destroy({ where: { userId: user.id } });
    return toUserView(user);
  }

  private async sendVerification(user: User): Promise<void> {
    const token = await this.tokens.issue(user.id, "verify_email");
    await this.deliver({
      to: user.email,
      subject: "Verify your SyncForge email",
      text:
        `Welcome to SyncForge, ${user.name}.\n\n` +
        `Verify your email within 24 hours: ${this.publicUrl}/verify-email?token=${token}\n`,
    });
  }

  /** A mail failure is logged, not thrown: the account exists and the user can ask again. */
  private async deliver(message: { to: string; subject: string; text: string }): Promise<void> {
    try {
      await this.mailer.send(message);
    } catch (error) {
      logger.error("Sending mail failed", { subject: message.subject, error: (error as Error).message });
    }
  }
}
