/**
 * Two databases in one process keep their own models: opening (and closing) a second one must not
 * re-point the first's models, which tests and scripts rely on.
 */
import { expect } from "chai";
import { createDatabase } from "../../../db/index.ts";
import { migrate } from "../../../db/migrator.ts";
import { tempSqliteUrl } from "../../helpers/database.ts";

describe("two databases in one process", () => {
  it("each keeps its own models after the other is opened and closed", async () => {
    const first = createDatabase({ url: tempSqliteUrl(), poolMax: 1, ssl: false });
    await migrate(first.sequelize);
    const second = createDatabase({ url: tempSqliteUrl(), poolMax: 1, ssl: false });
    await migrate(second.sequelize);
    await first.models.Organization.create({ id: "org-a", name: "A" });
    await second.close();
    const found = await first.models.Organization.findByPk("org-a");
    expect(found?.name).to.equal("A");
    expect(first.models.Organization.sequelize).to.equal(first.sequelize);
    await first.close();
  });
});
