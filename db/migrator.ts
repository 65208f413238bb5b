/**
 * Timestamped up/down migrations under db/migrations, run by umzug. The same files run on
 * PostgreSQL and SQLite; the applied ones are recorded in the sequelize_meta table.
 */
import { fileURLToPath } from "node:url";
import path from "node:path";
import { Umzug, SequelizeStorage } from "umzug";
import type { QueryInterface, Sequelize } from "sequelize";

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "migrations");

export interface MigrationModule {
  up(args: { context: QueryInterface }): Promise<void>;
  down(args: { context: QueryInterface }): Promise<void>;
}

export function createMigrator(sequelize: Sequelize): Umzug<QueryInterface> {
  return new Umzug<QueryInterface>({
    migrations: {
      glob: ["*.ts", { cwd: migrationsDir }],
      resolve: ({ name, path: file, context }) => ({
        name,
        up: async () => ((await import(file!)) as MigrationModule).up({ context }),
        down: async () => ((await import(file!)) as MigrationModule).down({ context }),
      }),
    },
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize }),
    logger: undefined,
  });
}

/** Apply every pending migration. */
export async function migrate(sequelize: Sequelize): Promise<string[]> {
  const applied = await createMigrator(sequelize).up();
  return applied.map((m) => m.name);
}
