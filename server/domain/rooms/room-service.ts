/**
 * Rooms of an organisation. Clients address a room by its plain id; the org's `max_rooms` caps how
 * many exist (checked under a lock on the organisation row on PostgreSQL, so concurrent creations
 * cannot overshoot). Deleting a room removes its document through an injected function, because
 * closing live connections belongs to the realtime layer, not to the domain.
 */
import { randomUUID } from "node:crypto";
import { Op, Transaction, UniqueConstraintError } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { Room } from "../../../db/models/index.ts";
import { BadRequestError, ConflictError, NotFoundError, PaymentRequiredError } from "../../errors.ts";
import type { RoomPermission } from "../../auth/access-token.ts";

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

export class RoomService {
  private readonly db: Database;
  private readonly destroyDocument: RoomServiceOptions["destroyDocument"];

  constructor(options: RoomServiceOptions) {
    this.db = options.db;
    this.destroyDocument = options.destroyDocument;
  }

  /** Create a room; 409 when the id is taken in this org, 402 plan_limit_reached over max_rooms. */
  async create(orgId: string, input: RoomInput): Promise<RoomView> {
    const roomId = input.id ?? randomUUID();
    try {
      const room = await this.insertUnderLimit(orgId, roomId, input);
      if (!room) throw new PaymentRequiredError("The organization has reached its max_rooms limit", "plan_limit_reached");
      return toRoomView(room);
    } catch (error) {
      if (error instanceof UniqueConstraintError) throw new ConflictError("A room with this id already exists", "room_exists");
      throw error;
    }
  }

  /**
   * The room a connection opens, created on first connection (as Liveblocks does) while the org
   * is under max_rooms; null when it does not exist and the limit is reached.
   */
  async findOrCreateForConnection(orgId: string, roomId: string): Promise<Room | null> {
    const existing = await this.find(orgId, roomId);
    if (existing) return existing;
    try {
      return await this.insertUnderLimit(orgId, roomId, {});
    } catch (error) {
      if (error instanceof UniqueConstraintError) return this.find(orgId, roomId);
      throw error;
    }
  }

  private async insertUnderLimit(orgId: string, roomId: string, input: RoomInput): Promise<Room | null> {
    const { Organization, Room } = this.db.models;
    return this.db.sequelize.transaction(async (transaction) => {
      const org = await Organization.findByPk(orgId, {
        transaction,
        lock: this.db.dialect === "postgres" ? Transaction.LOCK.UPDATE : undefined,
      });
      if (!org) throw new NotFoundError("Organization not found", "org_not_found");
      const count = await Room.count({ where: { orgId }, transaction });
      if (count >= org.maxRooms) return null;
      return Room.create(
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
  async list(orgId: string, options: { limit: number; cursor?: string }): Promise<{ data: RoomView[]; nextCursor: string | null }> {
    const after = options.cursor ? decodeCursor(options.cursor) : null;
    const rows = await this.db.models.Room.findAll({
      where: { orgId, ...(after !== null ? { roomId: { [Op.gt]: after } } : {}) },
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
   * Delete the room row, then its document (connections closed first, see destroyDocument). A
   * client that reconnects afterwards starts a new, empty room, as any first connection does.
   */
  async delete(orgId: string, roomId: string): Promise<void> {
    const deleted = await this.db.models.Room.destroy({ where: { orgId, roomId } });
    if (deleted === 0) throw new NotFoundError("Room not found", "room_not_found");
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
