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
}

export function initModels(sequelize: Sequelize): Models {
  const models: Models = {
    RoomDocument: RoomDocument.initModel(sequelize),
    DocumentUpdate: DocumentUpdate.initModel(sequelize),
    User: User.initModel(sequelize),
    Organization: Organization.initModel(sequelize),
    Membership: Membership.initModel(sequelize),
    ApiKey: ApiKey.initModel(sequelize),
    Room: Room.initModel(sequelize),
    EmailToken: EmailToken.initModel(sequelize),
    Session: Session.initModel(sequelize),
    Notification: Notification.initModel(sequelize),
    NotificationSetting: NotificationSetting.initModel(sequelize),
    RoomActivity: RoomActivity.initModel(sequelize),
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
  return models;
}

export { RoomDocument, DocumentUpdate, User, Organization, Membership, ApiKey, Room, EmailToken, Session, Notification, NotificationSetting, RoomActivity };
