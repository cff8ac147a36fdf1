import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The coordinator's archive of finished transactions. Written by hand rather than generated so
 * that the constraints (one outcome per state, non-negative counters) are part of the schema and
 * not only of the code that writes it.
 */
export class CreateHistory1764064800000 implements MigrationInterface {
  name = 'CreateHistory1764064800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE finished_transactions (
        tx_id               uuid        PRIMARY KEY,
        outcome             text        NOT NULL CHECK (outcome IN ('COMMIT', 'ABORT')),
        state               text        NOT NULL CHECK (state IN ('COMMITTED', 'ABORTED')),
        cause               text        NOT NULL,
        reason              text        NOT NULL,
        resolved_by         text,
        created_at          timestamptz NOT NULL,
        decided_at          timestamptz NOT NULL,
        finished_at         timestamptz NOT NULL,
        deadline            timestamptz NOT NULL,
        metadata            jsonb       NOT NULL CHECK (jsonb_typeof(metadata) = 'object'),
        decision_raft_index bigint      NOT NULL CHECK (decision_raft_index > 0),
        decision_raft_term  bigint      NOT NULL CHECK (decision_raft_term > 0),
        idempotency_key     text,
        CONSTRAINT finished_transactions_outcome_matches_state
          CHECK ((outcome = 'COMMIT') = (state = 'COMMITTED'))
      )`);
    // Lists filter by state and page by tx_id (newest first).
    await queryRunner.query(
      `CREATE INDEX finished_transactions_state_tx_id ON finished_transactions (state, tx_id DESC)`,
    );
    await queryRunner.query(`
      CREATE TABLE transaction_branches (
        tx_id       uuid        NOT NULL REFERENCES finished_transactions (tx_id) ON DELETE CASCADE,
        participant text        NOT NULL,
        vote        text        CHECK (vote IN ('YES', 'NO', 'READ_ONLY')),
        vote_reason text,
        voted_at    timestamptz,
        acked_at    timestamptz,
        attempts    integer     NOT NULL CHECK (attempts >= 0),
        last_error  text,
        PRIMARY KEY (tx_id, participant)
      )`);
    // "Which transactions touched bank-b?" pages by tx_id too.
    await queryRunner.query(
      `CREATE INDEX transaction_branches_participant_tx_id ON transaction_branches (participant, tx_id DESC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE transaction_branches`);
    await queryRunner.query(`DROP TABLE finished_transactions`);
  }
}
