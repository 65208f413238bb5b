/**
 * The server's comment rules (extensions/comments.ts), as a UI needs them to show only the controls
 * that would be accepted: writing needs comments:write (or room:write); only a comment's author
 * edits or deletes it; a thread's author or a room writer resolves, reopens or deletes the thread.
 */
export interface MyAccess {
  userId: string;
  canWrite: boolean;
  canWriteComments: boolean;
}

export interface CommentRules {
  /** Start threads, reply and react. */
  canComment: boolean;
  canEditComment(comment: { authorId: string; deletedAt: number | null }): boolean;
  canResolveThread(thread: { createdBy: string }): boolean;
}

/** The rules for one user (null access: not known yet, so nothing is allowed). */
export function commentRulesFor(access: MyAccess | null): CommentRules {
  const canComment = access?.canWriteComments === true;
  return {
    canComment,
    canEditComment: (comment) => canComment && comment.deletedAt === null && comment.authorId === access!.userId,
    canResolveThread: (thread) => canComment && (thread.createdBy === access!.userId || access!.canWrite),
  };
}
