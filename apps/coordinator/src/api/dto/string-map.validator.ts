import { ValidateBy, type ValidationOptions } from 'class-validator';

export const METADATA_ENTRIES_MAX = 32;
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
export const METADATA_VALUE_LENGTH_MAX = 256;

/**
 * Metadata is replicated in every BEGIN entry and shown in every list, so it is bounded: a
 * flat object of string values, a limited number of short keys.
 */
export function IsStringMap(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringMap',
      validator: {
        validate: (value: unknown): boolean => stringMapProblem(value) === null,
        defaultMessage: (args): string =>
          `${args?.property ?? 'value'}: ${stringMapProblem(args?.value) ?? ''}`,
      },
    },
    options,
  );
}

/** Why the value is not a valid metadata map, or null when it is. */
export function stringMapProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
  const entries = Object.entries(value);
  if (entries.length > METADATA_ENTRIES_MAX) return `must have at most ${METADATA_ENTRIES_MAX} entries`;
  for (const [key, entry] of entries) {
    if (!METADATA_KEY_PATTERN.test(key))
      return `key "${key.slice(0, 64)}" must match ${METADATA_KEY_PATTERN.source}`;
    if (typeof entry !== 'string') return `value of "${key}" must be a string`;
    if (entry.length > METADATA_VALUE_LENGTH_MAX) {
      return `value of "${key}" must be at most ${METADATA_VALUE_LENGTH_MAX} characters`;
    }
  }
  return null;
}
