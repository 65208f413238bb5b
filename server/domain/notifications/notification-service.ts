/**
 * Inbox notifications for end users, per organisation: stored rows with readAt, delivered live to
 * every connected client of the user (through `push`, which crosses processes on Redis), and by
 * email when the user's settings say so. Settings are per kind and channel (inApp, email); kinds
 * missing from a user's settings use DEFAULT_CHANNELS. Custom kinds start with "$".
 */
import { randomUUID } from "node:crypto";
import { Op, type Transaction } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { Notification } from "../../../db/models/Notification.ts";
import { BadRequestError, NotFoundError } from "../../errors.ts";
import { logger } from "../../logger.ts";
import { decodeCursor, encodeCursor } from "../pagination.ts";
import type { InboxNotification } from "../../../protocol/notifications.ts";

export const NOTIFICATION_KINDS = ["mention", "reply", "reaction", "thread_resolved", "added_to_room", "added_to_org", "webhook_disabled"] as const;
export type BuiltInKind = (typeof NOTIFICATION_KINDS)[number];
export const CUSTOM_KIND = /^\$[A-Za-z0-9_.:-]{1,63}$/;

export interface ChannelSettings {
  inApp: boolean;
  email: boolean;
}

export const DEFAULT_CHANNELS: Record<BuiltInKind, ChannelSettings> = {
  mention: { inApp: true, email: true },
  reply: { inApp: true, email: true },
  reaction: { inApp: true, email: false },
  thread_resolved: { inApp: true, email: false },
  added_to_room: { inApp: true, email: true },
  added_to_org: { inApp: true, email: true },
  // To an organisation's Owners: one of its webhook endpoints kept failing and was disabled.
  webhook_disabled: { inApp: true, email: true },
};
const CUSTOM_DEFAULT: ChannelSettings = { inApp: true, email: false };

export function isNotificationKind(kind: string): boolean {
  return (NOTIFICATION_KINDS as readonly string[]).includes(kind) || CUSTOM_KIND.test(kind);
}

export interface NotifyInput {
  orgId: string;
  userId: string;
  kind: string;
  roomId?: string | null;
  threadId?: string | null;
  commentId?: string | null;
  actorId?: string | null;
  data?: Record<string, unknown>;
}

/** The wire shape the SDK reads (client/core/notifications.ts), one definition for both. */
export type NotificationView = InboxNotification;

export interface NotificationSettingsView {
  email: string | null;
  channels: Record<string, ChannelSettings>;
}

export interface NotificationServiceOptions {
  db: Database;
  mailer: { send(message: { to: string; subject: string; text: string }): Promise<void> } | null;
  /** Deliver a JSON message to every connected client of (org, user), on every process. */
  push: (orgId: string, userId: string, message: Record<string, unknown>) => void;
  publicUrl: string;
  /**
   * Whether the organisation's plan includes notifications (docs/billing.md); absent: always.
   * Without it nothing is stored, pushed or mailed (the trigger endpoint answers 403 first).
   */
  allowed?: (orgId: string) => Promise<boolean>;
  /** Told of each notification sent (usage metering). */
  onSent?: (orgId: string) => void;
}

export class NotificationService {
  private readonly options: NotificationServiceOptions;
  private readonly sending = new Set<Promise<void>>();
  /** Runs in the transaction that stores a notification (webhooks' outbox commits with it). */
  onStored: ((orgId: string, notification: NotificationView, transaction: Transaction) => Promise<void>) | null = null;

  constructor(options: NotificationServiceOptions) {
    this.options = options;
  }

  /** Store, push and email one notification as the recipient's settings allow; null if none. */
  async notify(input: NotifyInput): Promise<NotificationView | null> {
    if (!isNotificationKind(input.kind)) throw new BadRequestError(`Unknown notification kind ${input.kind}`, "invalid_kind");
    if (this.options.allowed && !(await this.options.allowed(input.orgId))) return null;
    const settings = await this.getSettings(input.orgId, input.userId);
    const channels = settings.channels[input.kind] ?? CUSTOM_DEFAULT;
    let view: NotificationView | null = null;
    if (channels.inApp) {
      const values = {
        id: `in_${randomUUID().replace(/-/g, "")}`,
        orgId: input.orgId,
        userId: input.userId,
        kind: input.kind,
        roomId: input.roomId ?? null,
        threadId: input.threadId ?? null,
        commentId: input.commentId ?? null,
        actorId: input.actorId ?? null,
        data: input.data ?? {},
        readAt: null,
      };
      const { Notification } = this.options.db.models;
      const onStored = this.onStored;
      const row = onStored
        ? await this.options.db.sequelize.transaction(async (transaction) => {
            const created = await Notification.create(values, { transaction });
            await onStored(input.orgId, toView(created), transaction);
            return created;
          })
        : await Notification.create(values);
      view = toView(row);
      this.options.push(input.orgId, input.userId, { type: "sf:notification", notification: view });
    }
    const mailed = channels.email && !!settings.email && !!this.options.mailer;
    if (mailed && settings.email && this.options.mailer) {
      const sent = this.options.mailer
        .send({ to: settings.email, ...renderEmail(input, this.options.publicUrl) })
        .catch((error: Error) => {
          logger.warn("Could not send a notification email", { orgId: input.orgId, kind: input.kind, error: error.message });
        });
      this.sending.add(sent);
      void sent.finally(() => this.sending.delete(sent));
    }
    if (view || mailed) this.options.onSent?.(input.orgId);
    return view;
  }

  /** Newest first; the cursor is (createdAt, id) of the last row, so pages never shift. */
  async list(orgId: string, userId: string, options: { limit?: number; cursor?: string; unread?: boolean } = {}): Promise<{ data: NotificationView[]; nextCursor: string | null }> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 100);
    const where: Record<string | symbol, unknown> = { orgId, userId };
    if (options.unread) where.readAt = null;
    if (options.cursor) {
      const c = decodeCursor(options.cursor);
      where[Op.or] = [{ createdAt: { [Op.lt]: c.at } }, { createdAt: c.at, id: { [Op.lt]: c.id } }];
    }
    const rows = await this.options.db.models.Notification.findAll({ where, order: [["createdAt", "DESC"], ["id", "DESC"]], limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map(toView), nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  async unreadCount(orgId: string, userId: string): Promise<number> {
    return this.options.db.models.Notification.count({ where: { orgId, userId, readAt: null } });
  }

  async markRead(orgId: string, userId: string, id: string): Promise<NotificationView> {
    const row = await this.options.db.models.Notification.findOne({ where: { orgId, userId, id } });
    if (!row) throw new NotFoundError("Notification not found", "notification_not_found");
    if (!row.readAt) await row.update({ readAt: new Date() });
    return toView(row);
  }

  async markAllRead(orgId: string, userId: string): Promise<number> {
    const [count] = await this.options.db.models.Notification.update({ readAt: new Date() }, { where: { orgId, userId, readAt: null } });
    return count;
  }

  async getSettings(orgId: string, userId: string): Promise<NotificationSettingsView> {
    const row = await this.options.db.models.NotificationSetting.findOne({ where: { orgId, userId } });
    const channels: Record<string, ChannelSettings> = {};
    for (const kind of NOTIFICATION_KINDS) channels[kind] = { ...DEFAULT_CHANNELS[kind], ...(row?.channels[kind] ?? {}) };
    for (const [kind, value] of Object.entries(row?.channels ?? {})) {
      if (CUSTOM_KIND.test(kind)) channels[kind] = { ...CUSTOM_DEFAULT, ...value };
    }
    return { email: row?.email ?? null, channels };
  }

  /** Merge: only the kinds and channels given change; `email: null` removes the address. */
  async updateSettings(orgId: string, userId: string, patch: { email?: string | null; channels?: Record<string, Partial<ChannelSettings>> }): Promise<NotificationSettingsView> {
    for (const kind of Object.keys(patch.channels ?? {})) {
      if (!isNotificationKind(kind)) throw new BadRequestError(`Unknown notification kind ${kind}`, "invalid_kind");
    }
    const model = this.options.db.models.NotificationSetting;
    const row = await model.findOne({ where: { orgId, userId } });
    const channels = { ...(row?.channels ?? {}) };
    for (const [kind, value] of Object.entries(patch.channels ?? {})) channels[kind] = { ...(channels[kind] ?? {}), ...value };
    const email = patch.email === undefined ? (row?.email ?? null) : patch.email;
    if (row) await row.update({ channels, email });
    else await model.create({ orgId, userId, channels, email });
    return this.getSettings(orgId, userId);
  }

  /** Wait for emails in flight (shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.sending]);
  }
}

function toView(row: Notification): NotificationView {
  return {
    id: row.id,
    kind: row.kind,
    userId: row.userId,
    roomId: row.roomId,
    threadId: row.threadId,
    commentId: row.commentId,
    actorId: row.actorId,
    data: typeof row.data === "string" ? (JSON.parse(row.data) as Record<string, unknown>) : row.data,
    readAt: row.readAt ? row.readAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
  };
}

function renderEmail(input: NotifyInput, publicUrl: string): { subject: string; text: string } {
  const who = input.actorId ?? "Someone";
  const where = input.roomId ? ` in ${input.roomId}` : "";
  const excerpt = typeof input.data?.excerpt === "string" ? `\n\n> ${input.data.excerpt}` : "";
  const subjects: Record<string, string> = {
    mention: `${who} mentioned you${where}`,
    reply: `${who} replied${where}`,
    reaction: `${who} reacted to your comment${where}`,
    thread_resolved: `${who} resolved a thread${where}`,
    added_to_room: `You were added to ${input.roomId ?? "a room"}`,
    added_to_org: "You were added to an organization",
    webhook_disabled: "A webhook endpoint was disabled after failing for days",
  };
  const subject = subjects[input.kind] ?? `New notification: ${input.kind}`;
  return { subject, text: `${subject}.${excerpt}\n\n${publicUrl}\n` };
}
