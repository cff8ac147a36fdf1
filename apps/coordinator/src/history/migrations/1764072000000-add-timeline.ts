import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each finished transaction keeps its timeline (what happened to it, oldest first, ending with
 * ARCHIVED) as a JSON array, read whole with the transaction and never queried into. Rows written
 * before this migration get an empty array; the store rebuilds a short timeline for them from
 * their other columns.
 */
export class AddTimeline1764072000000 implements MigrationInterface {
  name = 'AddTimeline1764072000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE finished_transactions
        ADD COLUMN timeline jsonb NOT NULL DEFAULT '[]'
          CONSTRAINT finished_transactions_timeline_is_array CHECK (jsonb_typeof(timeline) = 'array')`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE finished_transactions DROP COLUMN timeline`);
  }
}
