/**
 * Presence as one socket edge (/collab or /yjs) sees it: its members by internal address. The edge
 * hands over every awareness message and QueryAwareness it reads, and counts the document messages
 * it passes to Hocuspocus (for ordering, presence-member.ts).
 */
import type { Connection } from "@hocuspocus/server";
import type { UserInfo } from "../../auth/access-token.ts";
import { PresenceMember, type PresenceTransport } from "./presence-member.ts";
import type { PresenceHub } from "./presence-hub.ts";

/** Who a member is, from its verified token (extensions/awareness.ts `connected`). */
export interface AttachContext {
  userId: string;
  userInfo: UserInfo;
  access?: { canWritePresence: boolean };
}

export class SocketPresence {
  private readonly hub: PresenceHub;
  private readonly transport: PresenceTransport;
  private readonly members = new Map<string, PresenceMember>();
  /** The socket closed: nothing attaches any more. */
  private closed = false;

  constructor(hub: PresenceHub, transport: PresenceTransport) {
    this.hub = hub;
    this.transport = transport;
  }

  /** An awareness update for `address` (internal). Throws AwarenessRejected for an oversized or malformed state. */
  receive(address: string, update: Uint8Array): void {
    this.member(address).receive(update);
  }

  /** A document message (not awareness, not Auth, not QueryAwareness) for `address` went to Hocuspocus. */
  countDocumentMessage(address: string): void {
    this.member(address).received += 1;
  }

  /** The client asked for the room's states (QueryAwareness). */
  query(address: string): void {
    const member = this.members.get(address);
    member?.room?.query(member);
  }

  /** The Hocuspocus connection for `address` exists (extensions/awareness.ts, `connected`). */
  attach(address: string, connection: Connection, context: AttachContext): void {
    if (this.closed) return;
    const member = this.member(address);
    if (member.room === null) this.hub.attach(member, connection, context);
  }

  /** Forget an address (refused) or everything (socket closed); their states leave their rooms. */
  forget(address?: string): void {
    if (address !== undefined) {
      this.members.get(address)?.release();
      return;
    }
    this.closed = true;
    for (const member of [...this.members.values()]) member.release();
  }

  private member(address: string): PresenceMember {
    let member = this.members.get(address);
    if (member === undefined) {
      member = new PresenceMember(address, this.transport, this.hub.settings, (released) => {
        if (this.members.get(released.address) === released) this.members.delete(released.address);
      });
      this.members.set(address, member);
    }
    return member;
  }
}
