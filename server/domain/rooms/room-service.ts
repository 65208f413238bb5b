/**
 * Rooms of an organisation. Clients address a room by its plain id; the plan's rooms limit caps how
 * many exist (server/domain/billing/entitlements.ts; checked under a lock on the organisation row
 * on PostgreSQL, so concurrent creations cannot overshoot). Deleting a room removes its document through an injected function, because
 * closing live connections belongs to the realtime layer, not to the domain.
 *
 * A deleted room stays deleted: its tombstone records when, and no access token minted before
 * that moment opens the room again (providers open at the deletion would otherwise reconnect,
 * re-create it and upload their copy). Tombstones older than one token lifetime are pruned: every
 * token minted before them has expired. Creating the room over REST, or with a newer token, works.
 */
import { randomUUID } from "node:crypto";
import { Op, Transaction, UniqueConstraintError } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { Room } from "../../../db/models/index.ts";
import { BadRequestError, ConflictError, NotFoundError, PaymentRequiredError } from "../../errors.ts";
import type { RoomPermission } from "../../../protocol/permissions.ts";
import { systemClock, type Clock } from "../clock.ts";

export interface RoomView {
  id: string;
  name: string | null;
  type: string;
  metadata: Record<string, unknown>;
  maxParticipants: number | null;
  defaultAccess: string[];
  createdAt: string;
  updatedAt: string;
}

export interface RoomInput {
  id?: string;
  name?: string | null;
  type?: string;
  metadata?: Record<string, unknown>;
  maxParticipants?: number | null;
  defaultAccess?: RoomPermission[];
}

export interface RoomServiceOptions {
  db: Database;
  /** Close the room's live connections, wait for its document to unload, then delete it. */
  destroyDocument: (orgId: string, roomId: string) => Promise<void>;
  /** Time of deletions (tombstones); the clock access tokens are minted with. */
  clock?: Clock;
  /** How long tombstones are kept: the access-token lifetime (ms). */
  tombstoneTtlMs?: number;
  /** The organisation's rooms limit (null: unlimited), from its plan; default unlimited. */
  roomsLimit?: (orgId: string) => Promise<number | null>;
}

/** Why a connection may not open a room (the realtime layer maps each to a close code). */
export type RoomRefusal = "room_deleted" | "room_not_found" | "plan_limit_reached";

export interface ConnectionRoomRequest {
  /** When the connection's access token was minted. */
  tokenIssuedAt: Date;
  /** Whether the token may create the room (room:write): read-only tokens never create rooms. */
  mayCreate: boolean;
}

export function toRoomView(room: Room): RoomView {
  return {
    id: room.roomId,
    name: room.name,
    type: room.type,
    metadata: room.metadata ?? {},
    maxParticipants: room.maxParticipants,
    defaultAccess: room.defaultAccess ?? [],
    createdAt: room.createdAt.toISOString(),
    updatedAt: room.updatedAt.toISOString(),
  };
}

/** A room's creation or deletion, told inside the transaction that makes it (webhooks' outbox). */
export type RoomLifecycleListener = (event: { type: "roomCreated" | "roomDeleted"; orgId: string; roomId: string; at: Date }, transaction: Transaction) => Promise<void>;

export class RoomService {
  private readonly db: Database;
  /** Runs in the creating or deleting transaction: what it writes commits with the room row. */
  onLifecycle: RoomLifecycleListener | null = null;
  private readonly destroyDocument: RoomServiceOptions["destroyDocument"];
  private readonly clock: Clock;
  private readonly tombstoneTtlMs: number;
  private readonly roomsLimit: (orgId: string) => Promise<number | null>;

  constructor(options: RoomServiceOptions) {
    this.db = options.db;
    this.destroyDocument = options.destroyDocument;
    this.clock = options.clock ?? systemClock;
    this.tombstoneTtlMs = options.tombstoneTtlMs ?? 7 * 24 * 3600 * 1000;
    this.roomsLimit = options.roomsLimit ?? (async () => null);
  }

  /** Create a room; 409 when the id is taken in this org, 402 plan_limit_reached over the plan's rooms limit. */
  async create(orgId: string, input: RoomInput): Promise<RoomView> {
    const roomId = input.id ?? randomUUID();
    try {
      const room = await this.insertUnderLimit(orgId, roomId, input);
      if (!room) {
        const limit = await this.roomsLimit(orgId);
        throw new PaymentRequiredError(`The organization's plan allows ${limit} rooms; delete one or upgrade the plan`, "plan_limit_reached");
      }
      return toRoomView(room);
    } catch (error) {
      if (error instanceof UniqueConstraintError) throw new ConflictError("A room with this id already exists", "room_exists");
      throw error;
    }
  }

  /**
   * The room a connection opens, created on first connection (as Liveblocks does) by a token that
   * may write, while the org is under its plan's rooms limit. Refused when the room was deleted after the token
   * was minted (even if re-created since: the token's holder may be a provider that was open at
   * the deletion, holding the erased content). The tombstone is only read when the room is missing
   * or younger than the token, so opening an existing room costs no extra query.
   */
  async openForConnection(orgId: string, roomId: string, request: ConnectionRoomRequest): Promise<{ room: Room } | { refused: RoomRefusal }> {
    const existing = await this.find(orgId, roomId);
    if (!existing || existing.createdAt.getTime() >= request.tokenIssuedAt.getTime()) {
      const deletedAt = await this.deletedAt(orgId, roomId);
      if (deletedAt && request.tokenIssuedAt.getTime() <= deletedAt.getTime()) return { refused: "room_deleted" };
    }
    if (existing) return { room: existing };
    if (!request.mayCreate) return { refused: "room_not_found" };
    try {
      const room = await this.insertUnderLimit(orgId, roomId, {});
      return room ? { room } : { refused: "plan_limit_reached" };
    } catch (error) {
      if (!(error instanceof UniqueConstraintError)) throw error;
      const raced = await this.find(orgId, roomId);
      return raced ? { room: raced } : { refused: "room_not_found" };
    }
  }

  /** When the room id was last deleted (within one token lifetime), or null. */
  async deletedAt(orgId: string, roomId: string): Promise<Date | null> {
    const tombstone = await this.db.models.RoomTombstone.findOne({ where: { orgId, roomId }, attributes: ["deletedAt"] });
    return tombstone?.deletedAt ?? null;
  }

  private async insertUnderLimit(orgId: string, roomId: string, input: RoomInput): Promise<Room | null> {
    const { Organization, Room } = this.db.models;
    const limit = await this.roomsLimit(orgId);
    return this.db.sequelize.transaction(async (transaction) => {
      const org = await Organization.findByPk(orgId, {
        transaction,
        lock: this.db.dialect === "postgres" ? Transaction.LOCK.UPDATE : undefined,
      });
      if (!org) throw new NotFoundError("Organization not found", "org_not_found");
      if (limit !== null && (await Room.count({ where: { orgId }, transaction })) >= limit) return null;
      const room = await Room.create(
        {
          id: randomUUID(),
          orgId,
          roomId,
          name: input.name ?? null,
          type: input.type ?? "yjs",
          metadata: input.metadata ?? {},
          maxParticipants: input.maxParticipants ?? null,
          defaultAccess: input.defaultAccess ?? [],
        },
        { transaction },
      );
      await this.onLifecycle?.({ type: "roomCreated", orgId, roomId, at: room.createdAt }, transaction);
      return room;
    });
  }

  async find(orgId: string, roomId: string): Promise<Room | null> {
    return this.db.models.Room.findOne({ where: { orgId, roomId } });
  }

  async get(orgId: string, roomId: string): Promise<RoomView> {
    const room = await this.find(orgId, roomId);
    if (!room) throw new NotFoundError("Room not found", "room_not_found");
    return toRoomView(room);
  }

  /** A page in room-id order; the cursor is the last id of the previous page. */
  async list(orgId: string, options: { limit: number; cursor?: string; search?: string }): Promise<{ data: RoomView[]; nextCursor: string | null }> {
    const after = options.cursor ? decodeCursor(options.cursor) : null;
    // A substring of the id or the name, any case: ILIKE on PostgreSQL, LIKE (case-blind for ASCII) on SQLite.
    const like = this.db.dialect === "postgres" ? Op.iLike : Op.like;
    const pattern = options.search ? `%${options.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    const rows = await this.db.models.Room.findAll({
      where: {
        orgId,
        ...(after !== null ? { roomId: { [Op.gt]: after } } : {}),
        ...(pattern ? { [Op.or]: [{ roomId: { [like]: pattern } }, { name: { [like]: pattern } }] } : {}),
      },
      order: [["roomId", "ASC"]],
      limit: options.limit + 1,
    });
    const page = rows.slice(0, options.limit);
    const nextCursor = rows.length > options.limit ? encodeCursor(page[page.length - 1]!.roomId) : null;
    return { data: page.map(toRoomView), nextCursor };
  }

  async update(orgId: string, roomId: string, patch: Omit<RoomInput, "id">): Promise<RoomView> {
    const room = await this.find(orgId, roomId);
    if (!room) throw new NotFoundError("Room not found", "room_not_found");
    const changes: Record<string, unknown> = {};
    for (const key of ["name", "type", "metadata", "maxParticipants", "defaultAccess"] as const) {
      if (patch[key] !== undefined) changes[key] = patch[key];
    }
    await room.update(changes);
    return toRoomView(room);
  }

  /**
   * Delete the room row and record its tombstone, then its document (connections closed first,
   * see destroyDocument). Only a token minted after this moment, or REST, creates it again.
   */
  async delete(orgId: string, roomId: string): Promise<void> {
    const { Room, RoomTombstone } = this.db.models;
    const now = this.clock();
    const deleted = await this.db.sequelize.transaction(async (transaction) => {
      const count = await Room.destroy({ where: { orgId, roomId }, transaction });
      if (count > 0) {
        await RoomTombstone.upsert({ orgId, roomId, deletedAt: now }, { transaction });
        await this.onLifecycle?.({ type: "roomDeleted", orgId, roomId, at: now }, transaction);
      }
      return count;
    });
    if (deleted === 0) throw new NotFoundError("Room not found", "room_not_found");
    await RoomTombstone.destroy({ where: { deletedAt: { [Op.lt]: new Date(now.getTime() - this.tombstoneTtlMs) } } });
    await this.destroyDocument(orgId, roomId);
  }
}

function encodeCursor(roomId: string): string {
  return Buffer.from(roomId, "utf8").toString("base64url");
}

/** Any other garbage is just a position; a control character would fail in SQLite (no room id has one). */
function decodeCursor(cursor: string): string {
  const roomId = Buffer.from(cursor, "base64url").toString("utf8");
  if (/[\u0000-\u001f\u007f]/.test(roomId)) throw new BadRequestError("The cursor is invalid", "invalid_cursor");
  return roomId;
}
