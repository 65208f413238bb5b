/**
 * Every model and every association, in one place.
 */
import type { Sequelize } from "sequelize";
import { RoomDocument } from "./RoomDocument.ts";
import { DocumentUpdate } from "./DocumentUpdate.ts";
import { User } from "./User.ts";
import { Organization } from "./Organization.ts";
import { Membership } from "./Membership.ts";
import { ApiKey } from "./ApiKey.ts";
import { Room } from "./Room.ts";
import { EmailToken } from "./EmailToken.ts";
import { Session } from "./Session.ts";
import { Notification } from "./Notification.ts";
import { NotificationSetting } from "./NotificationSetting.ts";
import { RoomActivity } from "./RoomActivity.ts";
import { RoomTombstone } from "./RoomTombstone.ts";
import { Invitation } from "./Invitation.ts";
import { BillingAccount } from "./BillingAccount.ts";
import { StripeEvent } from "./StripeEvent.ts";
// Outbound webhooks (issue 22).
import { WebhookEndpoint } from "./WebhookEndpoint.ts";
import { WebhookDelivery } from "./WebhookDelivery.ts";
// Usage metering (issue 19).
import { UsageUserDay } from "./UsageUserDay.ts";
import { UsageHour } from "./UsageHour.ts";

export interface Models {
  RoomDocument: typeof RoomDocument;
  DocumentUpdate: typeof DocumentUpdate;
  User: typeof User;
  Organization: typeof Organization;
  Membership: typeof Membership;
  ApiKey: typeof ApiKey;
  Room: typeof Room;
  EmailToken: typeof EmailToken;
  Session: typeof Session;
  Notification: typeof Notification;
  NotificationSetting: typeof NotificationSetting;
  RoomActivity: typeof RoomActivity;
  RoomTombstone: typeof RoomTombstone;
  Invitation: typeof Invitation;
  BillingAccount: typeof BillingAccount;
  StripeEvent: typeof StripeEvent;
  WebhookEndpoint: typeof WebhookEndpoint;
  WebhookDelivery: typeof WebhookDelivery;
  UsageUserDay: typeof UsageUserDay;
  UsageHour: typeof UsageHour;
}

/**
 * A subclass of a model for one Sequelize instance. Model.init binds a class to one connection;
 * binding fresh subclasses lets two databases live in one process (tests, scripts) without the
 * second silently re-pointing the first's models.
 */
function bound<T extends abstract new (...args: never[]) => unknown>(Base: T): T {
  const Bound = class extends (Base as unknown as new (...args: never[]) => object) {};
  Object.defineProperty(Bound, "name", { value: Base.name });
  return Bound as unknown as T;
}

export function initModels(sequelize: Sequelize): Models {
  const models: Models = {
    RoomDocument: bound(RoomDocument).initModel(sequelize),
    DocumentUpdate: bound(DocumentUpdate).initModel(sequelize),
    User: bound(User).initModel(sequelize),
    Organization: bound(Organization).initModel(sequelize),
    Membership: bound(Membership).initModel(sequelize),
    ApiKey: bound(ApiKey).initModel(sequelize),
    Room: bound(Room).initModel(sequelize),
    EmailToken: bound(EmailToken).initModel(sequelize),
    Session: bound(Session).initModel(sequelize),
    Notification: bound(Notification).initModel(sequelize),
    NotificationSetting: bound(NotificationSetting).initModel(sequelize),
    RoomActivity: bound(RoomActivity).initModel(sequelize),
    RoomTombstone: bound(RoomTombstone).initModel(sequelize),
    Invitation: bound(Invitation).initModel(sequelize),
    BillingAccount: bound(BillingAccount).initModel(sequelize),
    StripeEvent: bound(StripeEvent).initModel(sequelize),
    WebhookEndpoint: bound(WebhookEndpoint).initModel(sequelize),
    WebhookDelivery: bound(WebhookDelivery).initModel(sequelize),
    UsageUserDay: bound(UsageUserDay).initModel(sequelize),
    UsageHour: bound(UsageHour).initModel(sequelize),
  };
  // Accounts and tenancy: every org-owned row names its organisation.
  models.Organization.hasMany(models.Membership, { foreignKey: "orgId", as: "memberships" });
  models.Membership.belongsTo(models.Organization, { foreignKey: "orgId", as: "organization" });
  models.User.hasMany(models.Membership, { foreignKey: "userId", as: "memberships" });
  models.Membership.belongsTo(models.User, { foreignKey: "userId", as: "user" });
  models.Organization.hasMany(models.ApiKey, { foreignKey: "orgId", as: "apiKeys" });
  models.ApiKey.belongsTo(models.Organization, { foreignKey: "orgId", as: "organization" });
  models.Organization.hasMany(models.Room, { foreignKey: "orgId", as: "rooms" });
  models.Room.belongsTo(models.Organization, { foreignKey: "orgId", as: "organization" });
  models.User.hasMany(models.EmailToken, { foreignKey: "userId", as: "emailTokens" });
  models.EmailToken.belongsTo(models.User, { foreignKey: "userId", as: "user" });
  models.Organization.hasMany(models.Invitation, { foreignKey: "orgId", as: "invitations" });
  models.Invitation.belongsTo(models.Organization, { foreignKey: "orgId", as: "organization" });
  return models;
}

export { RoomDocument, DocumentUpdate, User, Organization, Membership, ApiKey, Room, EmailToken, Session, Notification, NotificationSetting, RoomActivity, RoomTombstone, Invitation, BillingAccount, StripeEvent, WebhookEndpoint, WebhookDelivery, UsageUserDay, UsageHour };
