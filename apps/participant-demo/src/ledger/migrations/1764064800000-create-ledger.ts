import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateLedger1764064800000 implements MigrationInterface {
  name = 'CreateLedger1764064800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE accounts (
        id varchar(64) PRIMARY KEY,
        balance bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT accounts_balance_not_negative CHECK (balance >= 0)
      )`);
    await queryRunner.query(`
      CREATE TABLE ledger_entries (
        id bigserial PRIMARY KEY,
        tx_id uuid NULL,
        account_id varchar(64) NOT NULL REFERENCES accounts (id),
        amount bigint NOT NULL CONSTRAINT ledger_entries_amount_not_zero CHECK (amount <> 0),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX ledger_entries_tx_id ON ledger_entries (tx_id)`);
    // One row per global transaction whose work this bank did, written inside the prepared
    // transaction: it exists exactly when that work committed, and its key serialises prepares.
    await queryRunner.query(`
      CREATE TABLE transaction_claims (
        tx_id uuid PRIMARY KEY,
        claimed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE aborted_transactions (
        tx_id uuid PRIMARY KEY,
        reason text NULL,
        aborted_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE aborted_transactions`);
    await queryRunner.query(`DROP TABLE transaction_claims`);
    await queryRunner.query(`DROP TABLE ledger_entries`);
    await queryRunner.query(`DROP TABLE accounts`);
  }
}
