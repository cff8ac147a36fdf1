import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One movement of money. Entries written by a global transaction carry its txId: they are how the
 * bank knows, after a crash, that a transaction committed here.
 */
@Entity({ name: 'ledger_entries' })
export class LedgerEntry {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  /** Null for an account's opening deposit, which belongs to no global transaction. */
  @Index('ledger_entries_tx_id')
  @Column({ name: 'tx_id', type: 'uuid', nullable: true })
  txId!: string | null;

  @Column({ name: 'account_id', type: 'varchar', length: 64 })
  accountId!: string;

  /** Signed, minor units: negative for a debit. */
  @Column({ type: 'bigint' })
  amount!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
