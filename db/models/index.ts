/**
 * Every model and every association, in one place.
 */
import type { Sequelize } from "sequelize";
import { RoomDocument } from "./RoomDocument.ts";
import { DocumentUpdate } from "./DocumentUpdate.ts";

export interface Models {
  RoomDocument: typeof RoomDocument;
  DocumentUpdate: typeof DocumentUpdate;
}

export function initModels(sequelize: Sequelize): Models {
  const models: Models = {
    RoomDocument: RoomDocument.initModel(sequelize),
    DocumentUpdate: DocumentUpdate.initModel(sequelize),
  };
  return models;
}

export { RoomDocument, DocumentUpdate };
