import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** An account of this bank. Amounts are integers in minor units (cents): no rounding, ever. */
@Entity({ name: 'accounts' })
export class Account {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  /** Invariant: never below zero (CHECK accounts_balance_not_negative). bigint arrives as a string. */
  @Column({ type: 'bigint' })
  balance!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
