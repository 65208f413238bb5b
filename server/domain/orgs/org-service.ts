/**
 * Organisations and their members. Every query names the organisation; an organisation always
 * keeps at least one Owner (checked inside a transaction that locks the organisation row on
 * PostgreSQL, so two concurrent demotions cannot both pass).
 */
import { randomUUID } from "node:crypto";
import { Transaction, type Sequelize } from "sequelize";

type RowLock = (typeof Transaction.LOCK)[keyof typeof Transaction.LOCK];
import type { Database } from "../../../db/index.ts";
import type { Membership, Organization } from "../../../db/models/index.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "../../errors.ts";
import { canAssignRole, type OrgRole } from "./policy.ts";
import { NO_PLAN, type Entitlement } from "../billing/entitlements.ts";

/**
 * plan_type, max_rooms and max_monthly_connections show the effective plan and limits
 * (server/domain/billing/entitlements.ts; null: unlimited); only an operator or the billing
 * subscription changes them, never PATCH.
 */
export interface OrgView {
  id: string;
  name: string;
  plan_type: string;
  max_rooms: number | null;
  max_monthly_connections: number | null;
  plan: { id: string; name: string; source: string; features: string[] };
  created_at: string;
  updated_at: string;
}

export interface MemberView {
  user_id: string;
  email: string;
  name: string;
  role: OrgRole;
  joined_at: string;
}

export interface OrgSettingsPatch {
  name?: string;
}

/** The effective plan of an organisation (server/domain/billing/entitlements.ts). */
export type PlanOf = (orgId: string) => Promise<Entitlement>;

async function toOrgView(org: Organization, planOf: PlanOf | null): Promise<OrgView> {
  const entitlement = planOf ? await planOf(org.id) : null;
  const plan = entitlement?.plan ?? NO_PLAN;
  return {
    id: org.id,
    name: org.name,
    plan_type: plan.id,
    max_rooms: entitlement?.limits.rooms ?? null,
    max_monthly_connections: entitlement?.limits.monthlyActiveUsers ?? null,
    plan: { id: plan.id, name: plan.name, source: entitlement?.source ?? "unmetered", features: entitlement ? [...entitlement.features] : [] },
    created_at: org.createdAt.toISOString(),
    updated_at: org.updatedAt.toISOString(),
  };
}

export class OrgService {
  private readonly db: Database;
  /** Told when a member leaves an organisation, so caches of memberships can drop them at once. */
  onMemberRemoved: (orgId: string, userId: string) => Promise<void> | void = () => {};
  /**
   * Told when a member's role changes, so tokens it minted beyond what the new role may grant
   * stop at once (server/realtime/revocation.ts).
   */
  onMemberRoleChanged: (orgId: string, userId: string, role: OrgRole, previous: OrgRole) => Promise<void> | void = () => {};
  /** Called after an account joins an organisation (the composition root sends added_to_org). */
  onMemberAdded: (orgId: string, userId: string, role: OrgRole) => Promise<void> | void = () => {};

  private readonly planOf: PlanOf | null;

  constructor(db: Database, planOf: PlanOf | null = null) {
    this.db = db;
    this.planOf = planOf;
  }

  private get sequelize(): Sequelize {
    return this.db.sequelize;
  }

  private lock(): RowLock | undefined {
    return this.db.dialect === "postgres" ? Transaction.LOCK.UPDATE : undefined;
  }

  /** Create an organisation; its creator is its first Owner. */
  async create(userId: string, name: string): Promise<OrgView & { role: OrgRole }> {
    const { Organization, Membership } = this.db.models;
    const org = await this.sequelize.transaction(async (transaction) => {
      const created = await Organization.create({ id: randomUUID(), name }, { transaction });
      await Membership.create({ id: randomUUID(), orgId: created.id, userId, role: "owner" }, { transaction });
      return created;
    });
    return { ...(await toOrgView(org, this.planOf)), role: "owner" };
  }

  async listForUser(userId: string): Promise<Array<OrgView & { role: OrgRole }>> {
    const { Membership, Organization } = this.db.models;
    const rows = await Membership.findAll({
      where: { userId },
      include: [{ model: Organization, as: "organization", required: true }],
      order: [["createdAt", "ASC"], ["orgId", "ASC"]],
    });
    return Promise.all(rows.map(async (m) => ({ ...(await toOrgView(included(m.organization, "organization"), this.planOf)), role: m.role })));
  }

  async find(orgId: string): Promise<OrgView | null> {
    const org = await this.findRow(orgId);
    return org ? toOrgView(org, this.planOf) : null;
  }

  private async findRow(orgId: string): Promise<Organization | null> {
    if (!isId(orgId)) return null;
    return this.db.models.Organization.findByPk(orgId);
  }

  async roleOf(orgId: string, userId: string): Promise<OrgRole | null> {
    if (!isId(orgId)) return null;
    const m = await this.db.models.Membership.findOne({ where: { orgId, userId }, attributes: ["role"] });
    return m?.role ?? null;
  }

  async update(orgId: string, patch: OrgSettingsPatch): Promise<OrgView> {
    const org = await this.findRow(orgId);
    if (!org) throw new NotFoundError("Organization not found", "org_not_found");
    if (patch.name !== undefined) await org.update({ name: patch.name });
    return toOrgView(org, this.planOf);
  }

  /** Whether a Stripe subscription still bills the organisation (it must be cancelled before deletion). */
  async hasLiveSubscription(orgId: string): Promise<boolean> {
    const account = await this.db.models.BillingAccount.findOne({ where: { orgId } });
    return Boolean(account?.stripeSubscriptionId) && !["canceled", "incomplete_expired"].includes(account!.status);
  }

  /**
   * Remove the organisation's row; memberships, keys, invitations, rooms, tombstones and the
   * billing account go with it (ON DELETE CASCADE). deleteOrganization empties it first.
   */
  async destroy(orgId: string): Promise<void> {
    const count = await this.db.models.Organization.destroy({ where: { id: orgId } });
    if (count === 0) throw new NotFoundError("Organization not found", "org_not_found");
  }

  async listMembers(orgId: string): Promise<MemberView[]> {
    const { Membership, User } = this.db.models;
    const rows = await Membership.findAll({
      where: { orgId },
      include: [{ model: User, as: "user", required: true, attributes: ["id", "email", "name"] }],
      order: [["createdAt", "ASC"], ["userId", "ASC"]],
    });
    return rows.map((m) => toMemberView(m));
  }

  async getMember(orgId: string, userId: string): Promise<MemberView> {
    const { Membership, User } = this.db.models;
    const m = await Membership.findOne({
      where: { orgId, userId },
      include: [{ model: User, as: "user", required: true, attributes: ["id", "email", "name"] }],
    });
    if (!m) throw new NotFoundError("Member not found", "member_not_found");
    return toMemberView(m);
  }

  /**
   * Make an account a member, inside the caller's transaction (accepting an invitation, see
   * invitation-service.ts: adding by email always invites). 409 when it is one already. The
   * caller runs onMemberAdded once the transaction has committed.
   */
  async addMembership(orgId: string, userId: string, role: OrgRole, transaction: Transaction): Promise<void> {
    const { Membership } = this.db.models;
    const existing = await Membership.findOne({ where: { orgId, userId }, transaction });
    if (existing) throw new ConflictError("This account is already a member", "already_member");
    try {
      await Membership.create({ id: randomUUID(), orgId, userId, role }, { transaction });
    } catch (error) {
      if ((error as Error).name === "SequelizeUniqueConstraintError") throw new ConflictError("This account is already a member", "already_member");
      throw error;
    }
  }

  async changeRole(orgId: string, userId: string, role: OrgRole, actorRole: OrgRole): Promise<MemberView> {
    const previous = await this.sequelize.transaction(async (transaction) => {
      const { Organization, Membership } = this.db.models;
      await Organization.findByPk(orgId, { transaction, lock: this.lock() });
      const m = await Membership.findOne({ where: { orgId, userId }, transaction });
      if (!m) throw new NotFoundError("Member not found", "member_not_found");
      if (!canAssignRole(actorRole, m.role, role)) throw new ForbiddenError("Only an Owner may change who is an Owner", "forbidden_role");
      if (m.role === "owner" && role !== "owner") await this.assertAnotherOwner(orgId, transaction);
      const before = m.role;
      await m.update({ role }, { transaction });
      return before;
    });
    if (previous !== role) await this.onMemberRoleChanged(orgId, userId, role, previous);
    return this.getMember(orgId, userId);
  }

  async removeMember(orgId: string, userId: string, actorRole: OrgRole): Promise<void> {
    await this.sequelize.transaction(async (transaction) => {
      const { Organization, Membership } = this.db.models;
      await Organization.findByPk(orgId, { transaction, lock: this.lock() });
      const m = await Membership.findOne({ where: { orgId, userId }, transaction });
      if (!m) throw new NotFoundError("Member not found", "member_not_found");
      if (!canAssignRole(actorRole, m.role, null)) throw new ForbiddenError("Only an Owner may remove an Owner", "forbidden_role");
      if (m.role === "owner") await this.assertAnotherOwner(orgId, transaction);
      await m.destroy({ transaction });
    });
    await this.onMemberRemoved(orgId, userId);
  }

  private async assertAnotherOwner(orgId: string, transaction: Transaction): Promise<void> {
    const owners = await this.db.models.Membership.count({ where: { orgId, role: "owner" }, transaction });
    if (owners <= 1) throw new ConflictError("An organization must keep at least one Owner", "last_owner");
  }
}

function toMemberView(m: Membership): MemberView {
  const user = included(m.user, "user");
  return { user_id: user.id, email: user.email, name: user.name, role: m.role, joined_at: m.createdAt.toISOString() };
}

/** An association the query included with `required: true`: absent only if the query is wrong. */
function included<T>(value: T | undefined, association: string): T {
  if (value === undefined) throw new Error(`The query did not include the ${association} association`);
  return value;
}

/** Ids are UUID strings; anything else cannot exist. */
export function isId(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
