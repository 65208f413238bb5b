/**
 * express-session's store on the application database (the `sessions` table of the accounts
 * migration), so sessions survive restarts and are shared by every process. The signed-in user id
 * is kept in its own column so a password reset can end all of a user's sessions.
 */
import session from "express-session";
import { Op } from "sequelize";
import type { Database } from "../../db/index.ts";
import { logger } from "../logger.ts";

type Callback<T = void> = (error?: unknown, value?: T) => void;

export class DatabaseSessionStore extends session.Store {
  private readonly db: Database;
  private readonly ttlMs: number;
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(db: Database, ttlSeconds: number) {
    super();
    this.db = db;
    this.ttlMs = ttlSeconds * 1000;
    this.pruneTimer = setInterval(() => void this.prune(), 15 * 60 * 1000);
    this.pruneTimer.unref();
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    this.db.models.Session.findByPk(sid)
      .then((row) => {
        if (!row || row.expiresAt.getTime() <= Date.now()) return callback(undefined, null);
        callback(undefined, JSON.parse(row.data) as session.SessionData);
      })
      .catch((error) => callback(error));
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    const userId = (data as { passport?: { user?: unknown } }).passport?.user;
    this.db.models.Session.upsert({
      sid,
      data: JSON.stringify(data),
      userId: typeof userId === "string" ? userId : null,
      expiresAt: this.expiryOf(data),
    })
      .then(() => callback?.())
      .catch((error) => callback?.(error));
  }

  override touch(sid: string, data: session.SessionData, callback?: Callback): void {
    this.db.models.Session.update({ expiresAt: this.expiryOf(data) }, { where: { sid } })
      .then(() => callback?.())
      .catch((error) => callback?.(error));
  }

  override destroy(sid: string, callback?: Callback): void {
    this.db.models.Session.destroy({ where: { sid } })
      .then(() => callback?.())
      .catch((error) => callback?.(error));
  }

  async prune(): Promise<void> {
    try {
      await this.db.models.Session.destroy({ where: { expiresAt: { [Op.lte]: new Date() } } });
    } catch (error) {
      logger.warn("Pruning expired sessions failed", { error: (error as Error).message });
    }
  }

  close(): void {
    clearInterval(this.pruneTimer);
  }

  private expiryOf(data: session.SessionData): Date {
    const expires = data.cookie?.expires;
    return expires ? new Date(expires) : new Date(Date.now() + this.ttlMs);
  }
}
