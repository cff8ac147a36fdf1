// For tests only (not exported from the package): checks messages against the JSON Schemas of the
// AsyncAPI document with ajv, a validator that shares no code with zod, so a test proves that what
// our code sends is what the published document says.
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { buildAsyncApiDocument } from '../asyncapi';

export interface AsyncApiValidators {
  /** Schema names: Prepare, Commit, Abort, Vote, Ack, OutcomeQuery, DeadLetter, and `<Name>Headers`. */
  readonly names: readonly string[];
  /** The schema a protocol message of this `type` must match (`DEAD_LETTER` for a dead letter). */
  schemaNameOf(type: string): string;
  /** Null when `value` matches the named schema, else ajv's errors in words. */
  check(schemaName: string, value: unknown): string | null;
}

export function asyncApiValidators(
  document: Record<string, unknown> = buildAsyncApiDocument(),
): AsyncApiValidators {
  const components = document['components'] as {
    schemas: Record<string, object>;
    messages: Record<string, { name: string; payload: { $ref: string } }>;
  };
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv);
  // zod writes `format: base64` beside a pattern that already checks it; ajv-formats has no such format.
  ajv.addFormat('base64', true);
  const validators = new Map<string, ValidateFunction>();
  for (const [name, schema] of Object.entries(components.schemas)) validators.set(name, ajv.compile(schema));
  const schemaByType = new Map(
    Object.values(components.messages).map((message) => [
      message.name,
      message.payload.$ref.replace('#/components/schemas/', ''),
    ]),
  );
  return {
    names: [...validators.keys()],
    schemaNameOf(type: string): string {
      const name = schemaByType.get(type);
      if (name === undefined) throw new Error(`the AsyncAPI document has no message named ${type}`);
      return name;
    },
    check(schemaName: string, value: unknown): string | null {
      const validate = validators.get(schemaName);
      if (validate === undefined) throw new Error(`the AsyncAPI document has no schema ${schemaName}`);
      return validate(value) ? null : ajv.errorsText(validate.errors);
    },
  };
}
