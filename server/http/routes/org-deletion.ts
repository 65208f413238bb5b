/** DELETE /api/organizations/:org_id: an Owner deletes the organisation (domain/orgs/delete-organization.ts). */
import { Router } from "express";
import type { OrgService } from "../../domain/orgs/org-service.ts";
import type { RoomService } from "../../domain/rooms/room-service.ts";
import type { ApiKeyService } from "../../domain/api-keys/api-key-service.ts";
import { deleteOrganization } from "../../domain/orgs/delete-organization.ts";
import { orgOf, type AuthMiddleware } from "../middleware/authenticate.ts";

export function orgDeletionRoutes(deps: { orgs: OrgService; rooms: RoomService; apiKeys: ApiKeyService; auth: AuthMiddleware }): Router {
  const router = Router();
  router.delete("/organizations/:org_id", deps.auth.requireOrgAccess("org:delete"), async (_req, res) => {
    await deleteOrganization(deps, orgOf(res).id);
    res.status(204).end();
  });
  return router;
}
