import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * A global transaction this bank was told to abort. An abort leaves no ledger entries, so without
 * this record a PREPARE arriving after the ABORT (and after a restart) would prepare it again.
 */
@Entity({ name: 'aborted_transactions' })
export class AbortedTransaction {
  @PrimaryColumn({ name: 'tx_id', type: 'uuid' })
  txId!: string;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @CreateDateColumn({ name: 'aborted_at', type: 'timestamptz' })
  abortedAt!: Date;
}
