/** Injection token of this instance's bank name, which is also its participant name. */
export const BANK_NAME = Symbol('BANK_NAME');
