/**
 * Deleting an organisation (its Owners, from the dashboard). Its rooms are deleted one by one
 * through the room service, so every process closes their connections and removes their documents
 * exactly as a room deletion does; its API keys are revoked, so connections of tokens they minted
 * close; then the row goes, and memberships, invitations and the rest with it. Tokens minted by its
 * members fail from then on: their issuer is no longer a member of anything. Refused while a
 * Stripe subscription still bills it (cancel in the billing portal first).
 */
import { ConflictError, NotFoundError } from "../../errors.ts";
import type { ApiKeyService } from "../api-keys/api-key-service.ts";
import type { RoomService } from "../rooms/room-service.ts";
import type { OrgService } from "./org-service.ts";

const PAGE = 100;

export async function deleteOrganization(deps: { orgs: OrgService; rooms: RoomService; apiKeys: ApiKeyService }, orgId: string): Promise<void> {
  const { orgs, rooms, apiKeys } = deps;
  if (await orgs.hasLiveSubscription(orgId)) {
    throw new ConflictError("Cancel the organisation's subscription before deleting it", "subscription_active");
  }
  // Always the first page: each pass deletes what it lists.
  for (;;) {
    const { data } = await rooms.list(orgId, { limit: PAGE });
    if (data.length === 0) break;
    for (const room of data) {
      // Deleted meanwhile by another request: gone either way.
      await rooms.delete(orgId, room.id).catch((error: unknown) => {
        if (!(error instanceof NotFoundError)) throw error;
      });
    }
  }
  for (const key of await apiKeys.list(orgId)) {
    if (!key.revokedAt) await apiKeys.revoke(orgId, key.id);
  }
  await orgs.destroy(orgId);
}
