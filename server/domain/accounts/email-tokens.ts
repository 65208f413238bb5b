/**
 * Single-use, expiring tokens sent by mail. The raw token (32 random bytes, base64url) exists only
 * in the mail; the database keeps its SHA-256 hash. Consumption is one conditional UPDATE, so two
 * concurrent uses of the same token cannot both succeed.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Op, type Transaction } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { Clock } from "../clock.ts";

export type EmailTokenPurpose = "verify_email" | "reset_password";

export const EMAIL_TOKEN_TTL_MS: Record<EmailTokenPurpose, number> = {
  verify_email: 24 * 3600 * 1000,
  reset_password: 3600 * 1000,
};

function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export class EmailTokens {
  private readonly db: Database;
  private readonly clock: Clock;

  constructor(db: Database, clock: Clock) {
    this.db = db;
    this.clock = clock;
  }

  async issue(userId: string, purpose: EmailTokenPurpose, transaction?: Transaction): Promise<string> {
    const token = randomBytes(32).toString("base64url");
    await this.db.models.EmailToken.create(
      {
        id: randomUUID(),
        userId,
        purpose,
        tokenHash: hashToken(token),
        expiresAt: new Date(this.clock().getTime() + EMAIL_TOKEN_TTL_MS[purpose]),
      },
      { transaction },
    );
    return token;
  }

  /**
   * Issue a token that is the only valid one of its purpose: every outstanding one is used up in
   * the same transaction. A reset link that leaked from an old mail stops working once a new one
   * is asked for.
   */
  async replace(userId: string, purpose: EmailTokenPurpose): Promise<string> {
    return this.db.sequelize.transaction(async (transaction) => {
      await this.revokeAll(userId, purpose, transaction);
      return this.issue(userId, purpose, transaction);
    });
  }

  /** Use a token once; returns its user id, or null when unknown, used or expired. */
  async consume(token: string, purpose: EmailTokenPurpose): Promise<string | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const tokenHash = hashToken(token);
    const now = this.clock();
    const { EmailToken } = this.db.models;
    const [count] = await EmailToken.update(
      { usedAt: now },
      { where: { tokenHash, purpose, usedAt: null, expiresAt: { [Op.gt]: now } } },
    );
    if (count !== 1) return null;
    const row = await EmailToken.findOne({ where: { tokenHash }, attributes: ["userId"] });
    return row?.userId ?? null;
  }

  /** Invalidate a user's outstanding tokens of one purpose (after a successful reset, before a new one). */
  async revokeAll(userId: string, purpose: EmailTokenPurpose, transaction?: Transaction): Promise<void> {
    await this.db.models.EmailToken.update({ usedAt: this.clock() }, { where: { userId, purpose, usedAt: null }, transaction });
  }
}
