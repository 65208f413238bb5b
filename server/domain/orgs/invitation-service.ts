/**
 * Invitations: the only way into an organisation besides creating it. Adding a member by email
 * invites the address whether or not it has an account, does the same work either way and answers
 * the same, so the answer cannot be used to learn who has an account (GitHub and Liveblocks invite
 * the same way). The invitee joins by accepting the mailed single-use link, signed in with that
 * email or by signing up through it (the link proves the address). A new invitation to the same
 * address replaces the pending one; invitations expire after 7 days.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Op, type Transaction } from "sequelize";
import type { Database } from "../../../db/index.ts";
import type { Invitation } from "../../../db/models/index.ts";
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, TooManyRequestsError } from "../../errors.ts";
import type { Mailer } from "../../mail/mailer.ts";
import type { MailThrottle } from "../../mail/mail-throttle.ts";
import { logger } from "../../logger.ts";
import type { Clock } from "../clock.ts";
import type { BackgroundWork } from "../background-work.ts";
import type { AccountService, UserView } from "../accounts/account-service.ts";
import { isId, type MemberView, type OrgService, type OrgView } from "./org-service.ts";
import { canAssignRole, type OrgRole } from "./policy.ts";

export const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface InvitationView {
  id: string;
  email: string;
  role: OrgRole;
  invited_by: string | null;
  created_at: string;
  expires_at: string;
}

/** What the holder of a link may see before accepting it. */
export interface InvitationPreview {
  organization: { id: string; name: string };
  email: string;
  role: OrgRole;
  expires_at: string;
}

export interface Joined {
  organization: OrgView & { role: OrgRole };
  member: MemberView;
}

export interface InvitationServiceOptions {
  db: Database;
  orgs: OrgService;
  accounts: AccountService;
  mailer: Mailer;
  throttle: MailThrottle;
  background: BackgroundWork;
  publicUrl: string;
  clock: Clock;
}

function toInvitationView(invitation: Invitation): InvitationView {
  return {
    id: invitation.id,
    email: invitation.email,
    role: invitation.role,
    invited_by: invitation.invitedBy,
    created_at: invitation.createdAt.toISOString(),
    expires_at: invitation.expiresAt.toISOString(),
  };
}

function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Names typed by users go into a mail's subject and text on one line. */
function oneLine(text: string): string {
  return text.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, " ").trim();
}

export class InvitationService {
  private readonly options: InvitationServiceOptions;
  private readonly db: Database;
  private readonly publicUrl: string;

  constructor(options: InvitationServiceOptions) {
    this.options = options;
    this.db = options.db;
    this.publicUrl = options.publicUrl.replace(/\/$/, "");
  }

  /**
   * Invite an address with a role; the same answer, after the same work, whether or not it has an
   * account. 409 only when it belongs to a member already (the caller can list members anyway).
   */
  async invite(orgId: string, email: string, role: OrgRole, actor: { userId: string; role: OrgRole }): Promise<InvitationView> {
    if (!canAssignRole(actor.role, null, role)) throw new ForbiddenError("Only an Owner may invite an Owner", "forbidden_role");
    const address = email.toLowerCase();
    const { Invitation, Membership, Organization, User } = this.db.models;
    const member = await Membership.findOne({
      where: { orgId },
      include: [{ model: User, as: "user", required: true, where: { email: address }, attributes: ["id"] }],
    });
    if (member) throw new ConflictError("This account is already a member", "already_member");
    const { allowed, retryAfterMs } = await this.options.throttle.take("invitation", address);
    if (!allowed) throw new TooManyRequestsError("Too many invitations to this address; try again later", "rate_limited", Math.ceil(retryAfterMs / 1000));

    const org = await Organization.findByPk(orgId);
    if (!org) throw new NotFoundError("Organization not found", "org_not_found");
    const inviter = await User.findByPk(actor.userId, { attributes: ["name"] });
    const token = randomBytes(32).toString("base64url");
    const now = this.options.clock();
    const invitation = await this.db.sequelize.transaction(async (transaction) => {
      // The newest invitation is the only one: the old link stops working.
      await Invitation.update({ revokedAt: now }, { where: { ...this.pending(now), orgId, email: address }, transaction });
      return Invitation.create(
        {
          id: randomUUID(),
          orgId,
          email: address,
          role,
          tokenHash: hashToken(token),
          invitedBy: actor.userId,
          expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
        },
        { transaction },
      );
    });
    const orgName = oneLine(org.name);
    this.options.background.run("invitation mail", () =>
      this.deliver({
        to: address,
        subject: `You are invited to join ${orgName} on SyncForge`,
        text:
          `${oneLine(inviter?.name ?? "Someone")} invited you to join the organization "${orgName}" on SyncForge as ${role}.\n\n` +
          `Accept within 7 days: ${this.publicUrl}/accept-invitation?token=${token}\n\n` +
          `Sign in with this email address to accept, or create your account from that page.\n` +
          `If you did not expect this invitation, ignore this message.\n`,
      }),
    );
    return toInvitationView(invitation);
  }

  /** Pending invitations (not accepted, revoked or expired), oldest first. */
  async listPending(orgId: string): Promise<InvitationView[]> {
    const rows = await this.db.models.Invitation.findAll({
      where: { ...this.pending(this.options.clock()), orgId },
      order: [["createdAt", "ASC"], ["id", "ASC"]],
    });
    return rows.map(toInvitationView);
  }

  /** Withdraw a pending invitation; like roles, only an Owner withdraws an Owner's invitation. */
  async revoke(orgId: string, invitationId: string, actorRole: OrgRole): Promise<void> {
    const now = this.options.clock();
    const invitation = isId(invitationId)
      ? await this.db.models.Invitation.findOne({ where: { ...this.pending(now), id: invitationId, orgId } })
      : null;
    if (!invitation) throw new NotFoundError("Invitation not found", "invitation_not_found");
    if (!canAssignRole(actorRole, invitation.role, null)) throw new ForbiddenError("Only an Owner may withdraw an Owner's invitation", "forbidden_role");
    await invitation.update({ revokedAt: now });
  }

  async preview(token: string): Promise<InvitationPreview> {
    const invitation = await this.findPending(token);
    const org = invitation ? await this.db.models.Organization.findByPk(invitation.orgId) : null;
    if (!invitation || !org) throw invalidToken();
    return {
      organization: { id: org.id, name: org.name },
      email: invitation.email,
      role: invitation.role,
      expires_at: invitation.expiresAt.toISOString(),
    };
  }

  /** Join as the signed-in account; its email must be the invited one (the link stays usable if not). */
  async accept(token: string, user: { userId: string; email: string }): Promise<Joined> {
    const invitation = await this.findPending(token);
    if (!invitation) throw invalidToken();
    if (invitation.email !== user.email.toLowerCase()) {
      throw new ForbiddenError("This invitation is for another email address; sign in with that one", "invitation_email_mismatch");
    }
    await this.db.sequelize.transaction((transaction) => this.consume(invitation, user.userId, transaction));
    return this.joined(invitation, user.userId);
  }

  /**
   * Decline: the link's holder (the link proves the address, as for signing up through it) turns
   * the invitation down; it stops working at once, as a withdrawn one does (issue 20).
   */
  async decline(token: string): Promise<void> {
    const invitation = await this.findPending(token);
    if (!invitation) throw invalidToken();
    const now = this.options.clock();
    const [count] = await this.db.models.Invitation.update({ revokedAt: now }, { where: { ...this.pending(now), id: invitation.id } });
    if (count !== 1) throw invalidToken();
  }

  /**
   * Create the invited address's account (verified: the link proves the address) and join. 409
   * email_taken when the address has an account by now: sign in and accept instead.
   */
  async acceptWithSignUp(token: string, input: { name: string; password: string }): Promise<Joined & { user: UserView }> {
    if (!(await this.findPending(token))) throw invalidToken();
    const passwordHash = await this.options.accounts.hashPassword(input.password);
    const invitation = await this.findPending(token);
    if (!invitation) throw invalidToken();
    const user = await this.db.sequelize.transaction(async (transaction) => {
      const created = await this.options.accounts.createVerifiedUser({ email: invitation.email, name: input.name, passwordHash }, transaction);
      await this.consume(invitation, created.id, transaction);
      return created;
    });
    return { ...(await this.joined(invitation, user.id)), user };
  }

  /** Mark the invitation used (once, even under concurrent accepts) and add the membership. */
  private async consume(invitation: Invitation, userId: string, transaction: Transaction): Promise<void> {
    const now = this.options.clock();
    const [count] = await this.db.models.Invitation.update(
      { acceptedAt: now, acceptedBy: userId },
      { where: { ...this.pending(now), id: invitation.id }, transaction },
    );
    if (count !== 1) throw invalidToken();
    await this.options.orgs.addMembership(invitation.orgId, userId, invitation.role, transaction);
  }

  private async joined(invitation: Invitation, userId: string): Promise<Joined> {
    const { orgs } = this.options;
    await orgs.onMemberAdded(invitation.orgId, userId, invitation.role);
    const org = await orgs.find(invitation.orgId);
    if (!org) throw new NotFoundError("Organization not found", "org_not_found");
    return { organization: { ...org, role: invitation.role }, member: await orgs.getMember(invitation.orgId, userId) };
  }

  private async findPending(token: string): Promise<Invitation | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    return this.db.models.Invitation.findOne({ where: { ...this.pending(this.options.clock()), tokenHash: hashToken(token) } });
  }

  private pending(now: Date) {
    return { acceptedAt: null, revokedAt: null, expiresAt: { [Op.gt]: now } };
  }

  /** A mail failure is logged: the invitation stands and can be sent again. */
  private async deliver(message: { to: string; subject: string; text: string }): Promise<void> {
    try {
      await this.options.mailer.send(message);
    } catch (error) {
      logger.error("Sending an invitation mail failed", { error: (error as Error).message });
    }
  }
}

function invalidToken(): BadRequestError {
  return new BadRequestError("The invitation link is invalid, used, withdrawn or expired", "invalid_token");
}
