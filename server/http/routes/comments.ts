/**
 * Threads, comments and reactions of a room over REST, for an organisation's backend (API key) or
 * its members: the same rules and the same room document as clients' writes (CommentService).
 * Writes act "as a given user" (`userId` in the body): an API key or an Owner/Admin names any end
 * user, a Member acts as themselves (userId left out or their own id; see actingUserOf). The
 * answer comes once the change is durable.
 * Also the room's activity feed.
 *
 * An end user's access token (from the browser) may read the threads of a room it grants
 * comments:read (or more) in; writes from clients go through the room's document.
 */
import { Router, type Request } from "express";
import { z } from "zod";
import type { CommentService } from "../../domain/comments/comment-service.ts";
import type { ActivityService } from "../../domain/activity/activity-service.ts";
import { isValidMetadata, MAX_BODY_CHARS, MAX_EMOJI_CHARS } from "../../../protocol/comment-schema.ts";
import { isValidRoomId } from "../../../protocol/document-name.ts";
import { endUserIdSchema } from "../../auth/access-token.ts";
import { NotFoundError } from "../../errors.ts";
import { parseInput } from "../validate.ts";
import { actingUserOf, type AuthMiddleware } from "../middleware/authenticate.ts";
import { withFeature, type FeatureCheck } from "../middleware/require-feature.ts";

const userId = endUserIdSchema;
const id = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "1-128 characters of [A-Za-z0-9_-]");
const body = z.string().max(MAX_BODY_CHARS);
const anchorSchema = z
  .object({
    elementId: z.string().min(1).max(256).optional(),
    text: z.object({ field: z.string().min(1).max(128), start: z.record(z.string(), z.unknown()), end: z.record(z.string(), z.unknown()) }).optional(),
  })
  .strict();
const metadataSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).refine(isValidMetadata, "at most 50 keys of 40 characters, values of 4000 characters");

const createThreadSchema = z.object({ userId: userId.optional(), body, anchor: anchorSchema.nullable().optional(), metadata: metadataSchema.optional(), id: id.optional(), commentId: id.optional() }).strict();
const createCommentSchema = z.object({ userId: userId.optional(), body, parentId: id.nullable().optional(), id: id.optional() }).strict();
const editCommentSchema = z.object({ userId: userId.optional(), body, mentions: z.array(userId).max(50).optional() }).strict();
const actingSchema = z.object({ userId: userId.optional() }).strict();
const reactionSchema = z.object({ userId: userId.optional(), emoji: z.string().min(1).max(MAX_EMOJI_CHARS).refine((e) => !e.includes("|"), "no |") }).strict();
const listSchema = z.object({ resolved: z.enum(["true", "false"]).optional(), author: userId.optional() });
const activitySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(1024).optional(),
  order: z.enum(["asc", "desc"]).default("asc"),
});

function room(req: Request): { orgId: string; roomId: string } {
  const roomId = String(req.params.room_id);
  if (!isValidRoomId(roomId)) throw new NotFoundError("Room not found", "room_not_found");
  return { orgId: String(req.params.org_id), roomId };
}

function param(req: Request, name: string): string {
  return parseInput(id, req.params[name], `Path parameter ${name}`);
}

export function commentRoutes({ comments, activity, auth, features }: { comments: CommentService; activity: ActivityService; auth: AuthMiddleware; features?: FeatureCheck }): Router {
  const router = Router();
  const base = "/organizations/:org_id/rooms/:room_id";
  const read = auth.requireOrgAccess("rooms:read");
  // Comment writes need a plan with comments (403 feature_not_in_plan); reading what exists never does.
  const write = withFeature(auth.requireOrgAccess("rooms:write"), features, "comments");
  const readThreads = auth.requireOrgAccess("rooms:read", { endUser: "room_comments" });

  router.get(`${base}/threads`, readThreads, async (req, res) => {
    const { orgId, roomId } = room(req);
    const q = parseInput(listSchema, req.query, "Query");
    const data = await comments.listThreads(orgId, roomId, { resolved: q.resolved === undefined ? undefined : q.resolved === "true", author: q.author });
    res.json({ data });
  });

  router.post(`${base}/threads`, write, async (req, res) => {
    const { orgId, roomId } = room(req);
    const input = parseInput(createThreadSchema, req.body);
    const thread = await comments.createThread(orgId, roomId, { ...input, userId: actingUserOf(res, input.userId), threadId: input.id });
    res.status(201).json(thread);
  });

  router.get(`${base}/threads/:thread_id`, readThreads, async (req, res) => {
    const { orgId, roomId } = room(req);
    res.json(await comments.getThread(orgId, roomId, param(req, "thread_id")));
  });

  router.delete(`${base}/threads/:thread_id`, write, async (req, res) => {
    const { orgId, roomId } = room(req);
    await comments.deleteThread(orgId, roomId, param(req, "thread_id"));
    res.status(204).end();
  });

  router.post(`${base}/threads/:thread_id/comments`, write, async (req, res) => {
    const { orgId, roomId } = room(req);
    const input = parseInput(createCommentSchema, req.body);
    const comment = await comments.addComment(orgId, roomId, param(req, "thread_id"), { ...input, userId: actingUserOf(res, input.userId), commentId: input.id });
    res.status(201).json(comment);
  });

  for (const [path, resolved] of [["mark-as-resolved", true], ["mark-as-unresolved", false]] as const) {
    router.post(`${base}/threads/:thread_id/${path}`, write, async (req, res) => {
      const { orgId, roomId } = room(req);
      const input = parseInput(actingSchema, req.body);
      res.json(await comments.setResolved(orgId, roomId, param(req, "thread_id"), { userId: actingUserOf(res, input.userId), resolved }));
    });
  }

  router.post(`${base}/threads/:thread_id/comments/:comment_id`, write, async (req, res) => {
    const { orgId, roomId } = room(req);
    const input = parseInput(editCommentSchema, req.body);
    res.json(await comments.editComment(orgId, roomId, param(req, "thread_id"), param(req, "comment_id"), { ...input, userId: actingUserOf(res, input.userId) }));
  });

  router.delete(`${base}/threads/:thread_id/comments/:comment_id`, write, async (req, res) => {
    const { orgId, roomId } = room(req);
    const input = parseInput(actingSchema, { userId: req.body?.userId ?? req.query.userId });
    await comments.deleteComment(orgId, roomId, param(req, "thread_id"), param(req, "comment_id"), { userId: actingUserOf(res, input.userId) });
    res.status(204).end();
  });

  for (const [path, on] of [["add-reaction", true], ["remove-reaction", false]] as const) {
    router.post(`${base}/threads/:thread_id/comments/:comment_id/${path}`, write, async (req, res) => {
      const { orgId, roomId } = room(req);
      const input = parseInput(reactionSchema, req.body);
      const reactions = await comments.setReaction(orgId, roomId, param(req, "thread_id"), param(req, "comment_id"), { ...input, userId: actingUserOf(res, input.userId), on });
      res.json({ reactions });
    });
  }

  router.get(`${base}/activity`, read, async (req, res) => {
    const { orgId, roomId } = room(req);
    const q = parseInput(activitySchema, req.query, "Query");
    res.json(await activity.list(orgId, roomId, q));
  });

  return router;
}
