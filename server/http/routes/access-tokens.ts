/**
 * Access tokens for end users. A team's backend (API key) or an Owner/Admin mints a token naming
 * the end user and per-room permissions; a signed-in member gets a token for one room of their
 * organisation with permissions from their role. The minting API key or member is recorded as
 * the token's issuer, so revoking the key (or removing the member) stops its tokens.
 */
import { Router } from "express";
import { z } from "zod";
import { endUserIdSchema, permissionsSchema, userInfoSchema, type AccessTokens } from "../../auth/access-token.ts";
import { issuerOf } from "../../auth/actor.ts";
import type { Clock } from "../../domain/clock.ts";
import type { RoomService } from "../../domain/rooms/room-service.ts";
import type { AccountService } from "../../domain/accounts/account-service.ts";
import { roomPermissionsForRole } from "../../domain/orgs/policy.ts";
import { NotFoundError } from "../../errors.ts";
import { parseInput } from "../validate.ts";
import { actorOf, orgAccessOf, orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";

const mintSchema = z.object({
  userId: endUserIdSchema,
  userInfo: userInfoSchema.optional(),
  permissions: permissionsSchema,
});

export interface AccessTokenRoutesOptions {
  tokens: AccessTokens;
  rooms: RoomService;
  accounts: AccountService;
  auth: AuthMiddleware;
  clock: Clock;
}

export function accessTokenRoutes({ tokens, rooms, accounts, auth, clock }: AccessTokenRoutesOptions): Router {
  const router = Router();

  router.post("/organizations/:org_id/access-tokens", auth.requireOrgAccess("access_tokens:mint"), async (req, res) => {
    const input = parseInput(mintSchema, req.body);
    const minted = await tokens.sign(
      {
        userId: input.userId,
        orgId: orgOf(res).id,
        permissions: input.permissions,
        userInfo: input.userInfo ?? {},
        issuer: issuerOf(actorOf(res)),
      },
      clock(),
    );
    res.status(201).json({ token: minted.token, expiresAt: minted.expiresAt.toISOString() });
  });

  router.post("/organizations/:org_id/rooms/:room_id/token", auth.requireOrgAccess("rooms:join"), async (req, res) => {
    const org = orgOf(res);
    const { actor, role } = orgAccessOf(res);
    const room = await rooms.find(org.id, String(req.params.room_id));
    if (!room || actor.kind !== "user" || !role) throw new NotFoundError("Room not found", "room_not_found");
    const user = await accounts.findUser(actor.userId);
    const permissions = roomPermissionsForRole(role);
    const minted = await tokens.sign(
      {
        userId: actor.userId,
        orgId: org.id,
        permissions: { [room.roomId]: permissions },
        userInfo: { name: user?.name ?? actor.email },
        issuer: issuerOf(actor),
      },
      clock(),
    );
    res.status(201).json({ token: minted.token, expiresAt: minted.expiresAt.toISOString(), roomId: room.roomId, permissions });
  });

  return router;
}
