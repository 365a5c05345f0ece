import type { Migration } from "../../src/store/mod.ts";

/** Migrations used by the store tests. Step 1 is not idempotent on purpose. */
export const TEST_MIGRATIONS: Migration[] = [
  {
    module: "test",
    version: 1,
    sql: "CREATE TABLE writes (writer TEXT NOT NULL, n INTEGER NOT NULL);" +
      "CREATE TABLE applied (step INTEGER NOT NULL); INSERT INTO applied VALUES (1);",
  },
  { module: "test", version: 2, sql: "INSERT INTO applied VALUES (2);" },
];
