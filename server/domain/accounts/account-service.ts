/**
 * Team accounts: registration, password login, email verification and password reset. Passwords
 * are bcrypt hashes. Nothing here tells who has an account: a failed login costs the same either
 * way; register and forgot-password answer the same, after the same work (register hashes the
 * password either way), and do what depends on the address (writes, mail) after the answer.
 * Mail to one address is throttled per kind (MAIL_RATE_LIMIT).
 */
import { createHash, randomUUID } from "node:crypto";
import bcrypt from "bcryptjs";
import { Op, type Transaction } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { User } from "../../../db/models/index.ts";
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from "../../errors.ts";
import type { Mailer } from "../../mail/mailer.ts";
import type { MailKind, MailThrottle } from "../../mail/mail-throttle.ts";
import { logger } from "../../logger.ts";
import type { Clock } from "../clock.ts";
import type { BackgroundWork } from "../background-work.ts";
import { EmailTokens } from "./email-tokens.ts";

export interface UserView {
  id: string;
  email: string;
  name: string;
  emailVerified: boolean;
  createdAt: string;
}

/** A signed-in session of the account, as its owner sees it (never the session id itself). */
export interface SessionView {
  /** A hash of the session id: names it for ending it, useless as a cookie. */
  id: string;
  createdAt: string;
  lastActiveAt: string;
  expiresAt: string;
  current: boolean;
}

/** The public name of a session: the session id is a bearer secret and never leaves the server. */
export function sessionIdOf(sid: string): string {
  return createHash("sha256").update(sid).digest("base64url").slice(0, 22);
}

export interface AccountServiceOptions {
  db: Database;
  mailer: Mailer;
  bcryptRounds: number;
  publicUrl: string;
  clock: Clock;
  /** Per-address budget of the mails this service sends. */
  throttle: MailThrottle;
  /** Where the work after an answer runs (shared with the app's shutdown). */
  background: BackgroundWork;
}

function toUserView(user: User): UserView {
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
  private readonly throttle: MailThrottle;
  private readonly background: BackgroundWork;
  private dummyHash: string | null = null;

  constructor(options: AccountServiceOptions) {
    this.db = options.db;
    this.mailer = options.mailer;
    this.rounds = options.bcryptRounds;
    this.publicUrl = options.publicUrl.replace(/\/$/, "");
    this.clock = options.clock;
    this.tokens = new EmailTokens(options.db, options.clock);
    this.throttle = options.throttle;
    this.background = options.background;
  }

  /**
   * Answers the same whether or not the email is taken: the password is hashed either way, then,
   * after the answer, a new account gets its verification mail and an existing one's owner a
   * notice (the existing account is never changed).
   */
  async register(input: { email: string; password: string; name: string }): Promise<void> {
    const email = input.email.toLowerCase();
    const passwordHash = await this.hashPassword(input.password);
    this.background.run("register", () => this.finishRegistration(email, input.name, passwordHash));
  }

  /** The bcrypt hash at BCRYPT_ROUNDS (sign-up through an invitation hashes before its transaction). */
  async hashPassword(password: string): Promise<string> {
    return bcrypt.hash(password, this.rounds);
  }

  /** Create an account whose address is already proven (an invitation link); 409 when taken. */
  async createVerifiedUser(input: { email: string; name: string; passwordHash: string }, transaction?: Transaction): Promise<UserView> {
    try {
      const user = await this.db.models.User.create(
        { id: randomUUID(), email: input.email.toLowerCase(), name: input.name, passwordHash: input.passwordHash, emailVerifiedAt: this.clock() },
        { transaction },
      );
      return toUserView(user);
    } catch (error) {
      if ((error as Error).name === "SequelizeUniqueConstraintError") throw new ConflictError("An account already uses this email; sign in instead", "email_taken");
      throw error;
    }
  }

  /** Check a password; null for an unknown email or a wrong password (same cost either way). */
  async checkPassword(email: string, password: string): Promise<UserView | null> {
    const user = await this.db.models.User.findOne({ where: { email: email.toLowerCase() } });
    if (!user) {
      this.dummyHash ??= await bcrypt.hash("not-a-real-password", this.rounds);
      await bcrypt.compare(password, this.dummyHash);
      return null;
    }
    return (await bcrypt.compare(password, user.passwordHash)) ? toUserView(user) : null;
  }

  async findUser(id: string): Promise<UserView | null> {
    const user = await this.findUserRow(id);
    return user ? toUserView(user) : null;
  }

  private async findUserRow(id: string): Promise<User | null> {
    return this.db.models.User.findByPk(id);
  }

  async verifyEmail(token: string): Promise<UserView> {
    const userId = await this.tokens.consume(token, "verify_email");
    const user = userId ? await this.findUserRow(userId) : null;
    if (!user) throw new BadRequestError("The verification link is invalid, used or expired", "invalid_token");
    if (!user.emailVerifiedAt) await user.update({ emailVerifiedAt: this.clock() });
    return toUserView(user);
  }

  /** Send a new verification mail; answers the same whether or not the email has an account. */
  async resendVerification(email: string): Promise<void> {
    this.background.run("resend verification", async () => {
      const user = await this.db.models.User.findOne({ where: { email: email.toLowerCase() } });
      if (user && !user.emailVerifiedAt) await this.sendVerification(user);
    });
  }

  /** Answers at once either way; an existing account is mailed a reset link that replaces older ones. */
  async forgotPassword(email: string): Promise<void> {
    this.background.run("forgot password", async () => {
      const user = await this.db.models.User.findOne({ where: { email: email.toLowerCase() } });
      // Throttled before a token is made: a withheld mail must not invalidate the last link sent.
      if (!user || !(await this.mayMail("reset_password", user))) return;
      const token = await this.tokens.replace(user.id, "reset_password");
      await this.deliver({
        to: user.email,
        subject: "Reset your SyncForge password",
        text:
          `Someone asked to reset the password of your SyncForge account.\n\n` +
          `Reset it within an hour: ${this.publicUrl}/reset-password?token=${token}\n\n` +
          `Only the newest link works. If it was not you, ignore this message.\n`,
      });
    });
  }

  /** Set a new password from a reset token; ends the user's sessions (returns the user id). */
  async resetPassword(token: string, password: string): Promise<UserView> {
    const userId = await this.tokens.consume(token, "reset_password");
    const user = userId ? await this.findUserRow(userId) : null;
    if (!user) throw new BadRequestError("The reset link is invalid, used or expired", "invalid_token");
    const passwordHash = await bcrypt.hash(password, this.rounds);
    // Receiving the mail proves the address, too.
    await user.update({ passwordHash, emailVerifiedAt: user.emailVerifiedAt ?? this.clock() });
    await this.tokens.revokeAll(user.id, "reset_password");
    await this.db.models.Session.destroy({ where: { userId: user.id } });
    return toUserView(user);
  }

  private async finishRegistration(email: string, name: string, passwordHash: string): Promise<void> {
    const { User } = this.db.models;
    const existing = await User.findOne({ where: { email } });
    if (existing) return this.sendAccountExists(existing);
    let user: User;
    try {
      user = await User.create({ id: randomUUID(), email, name, passwordHash });
    } catch (error) {
      // Two registrations of one address at once: the second is an attempt on an existing account.
      const raced = (error as Error).name === "SequelizeUniqueConstraintError" ? await User.findOne({ where: { email } }) : null;
      if (raced) return this.sendAccountExists(raced);
      throw error;
    }
    await this.sendVerification(user);
  }

  private async sendVerification(user: User): Promise<void> {
    if (!(await this.mayMail("verify_email", user))) return;
    const token = await this.tokens.issue(user.id, "verify_email");
    await this.deliver({
      to: user.email,
      subject: "Verify your SyncForge email",
      text:
        `Welcome to SyncForge, ${user.name}.\n\n` +
        `Verify your email within 24 hours: ${this.publicUrl}/verify-email?token=${token}\n`,
    });
  }

  /** What register does for a taken address: tell its owner, change nothing, send no link that acts. */
  private async sendAccountExists(user: User): Promise<void> {
    if (!(await this.mayMail("account_exists", user))) return;
    await this.deliver({
      to: user.email,
      subject: "You already have a SyncForge account",
      text:
        `Someone, maybe you, tried to create a SyncForge account with this email, which already has one. ` +
        `Nothing was changed.\n\n` +
        `Sign in: ${this.publicUrl}/login\n` +
        `Forgot your password? ${this.publicUrl}/forgot-password\n\n` +
        `If it was not you, ignore this message.\n`,
    });
  }

  private async mayMail(kind: MailKind, user: User): Promise<boolean> {
    const { allowed } = await this.throttle.take(kind, user.email);
    if (!allowed) logger.warn("Mail withheld: too many of this kind to one address this hour", { kind, userId: user.id });
    return allowed;
  }

  /** A mail failure is logged, not thrown: the account exists and the user can ask again. */
  private async deliver(message: { to: string; subject: string; text: string }): Promise<void> {
    try {
      await this.mailer.send(message);
    } catch (error) {
      logger.error("Sending mail failed", { subject: message.subject, error: (error as Error).message });
    }
  }

  // --- Account settings (the dashboard's account page, issue 20) ---

  async rename(userId: string, name: string): Promise<UserView> {
    const user = await this.findUserRow(userId);
    if (!user) throw new NotFoundError("Account not found", "user_not_found");
    await user.update({ name });
    return toUserView(user);
  }

  /**
   * A new password, proven by the current one; every other session of the account ends (the
   * one making the change stays), as after a reset.
   */
  async changePassword(userId: string, currentPassword: string, newPassword: string, currentSid: string): Promise<void> {
    const user = await this.findUserRow(userId);
    if (!user) throw new NotFoundError("Account not found", "user_not_found");
    if (!(await bcrypt.compare(currentPassword, user.passwordHash))) throw new ForbiddenError("The current password is wrong", "wrong_password");
    await user.update({ passwordHash: await bcrypt.hash(newPassword, this.rounds) });
    await this.db.models.Session.destroy({ where: { userId, sid: { [Op.ne]: currentSid } } });
  }

  /** The account's live sessions, newest activity first. */
  async listSessions(userId: string, currentSid: string): Promise<SessionView[]> {
    const rows = await this.db.models.Session.findAll({
      where: { userId, expiresAt: { [Op.gt]: this.clock() } },
      order: [["updatedAt", "DESC"]],
    });
    return rows.map((row) => ({
      id: sessionIdOf(row.sid),
      createdAt: row.createdAt.toISOString(),
      lastActiveAt: row.updatedAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
      current: row.sid === currentSid,
    }));
  }

  /** End one of the account's sessions by its public id; another account's is "not found". */
  async endSession(userId: string, sessionId: string): Promise<void> {
    const rows = await this.db.models.Session.findAll({ where: { userId }, attributes: ["sid"] });
    const row = rows.find((r) => sessionIdOf(r.sid) === sessionId);
    if (!row) throw new NotFoundError("Session not found", "session_not_found");
    await this.db.models.Session.destroy({ where: { sid: row.sid, userId } });
  }
}
