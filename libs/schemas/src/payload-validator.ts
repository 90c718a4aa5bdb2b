import * as avro from 'avsc';
import { ValidationIssue } from '@esflow/core';

/**
 * Checks a JSON value against an Avro type and reports every broken rule with its field path
 * (`items.0.quantity`), in words a client developer can act on. Missing fields that have a
 * default are accepted (the default is written); fields the schema does not declare are not.
 */
export function validatePayload(type: avro.Type, value: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  check(type, value, [], issues);
  return issues;
}

/** A value as a message quotes it: JSON, cut short so that an error never echoes much input. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function describeType(type: avro.Type): string {
  switch (type.typeName) {
    case 'int':
      return 'a 32-bit integer';
    case 'long':
      return 'an integer (long) no larger than 2^53';
    case 'float':
    case 'double':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'bytes':
    case 'fixed':
      return 'binary data';
    case 'enum':
      return `one of ${(type as avro.types.EnumType).symbols.join(', ')}`;
    case 'array':
      return 'an array';
    case 'map':
      return 'an object (map)';
    case 'record':
    case 'error':
      return `an object (${type.name ?? 'record'})`;
    default:
      if (type.typeName.startsWith('union'))
        return (type as avro.types.UnwrappedUnionType).types.map(describeType).join(' or ');
      return type.typeName;
  }
}

function check(type: avro.Type, value: unknown, path: string[], issues: ValidationIssue[]): void {
  const at = path.join('.');
  const fail = (message: string) => issues.push({ path: at, message });
  switch (type.typeName) {
    case 'record':
    case 'error': {
      if (!isPlainObject(value)) return void fail(`must be ${describeType(type)}`);
      const record = type as avro.types.RecordType;
      const declared = new Set(record.fields.map((field) => field.name));
      for (const field of record.fields) {
        const fieldValue = value[field.name];
        if (fieldValue === undefined) {
          if (field.defaultValue() === undefined)
            issues.push({
              path: [...path, field.name].join('.'),
              message: `is required: must be ${describeType(field.type)}`,
            });
          continue;
        }
        check(field.type, fieldValue, [...path, field.name], issues);
      }
      for (const key of Object.keys(value))
        if (!declared.has(key))
          issues.push({
            path: [...path, key].join('.'),
            message: `is not a field of ${record.name}; its fields are ${[...declared].join(', ')}`,
          });
      return;
    }
    case 'array': {
      if (!Array.isArray(value)) return void fail('must be an array');
      const items = (type as avro.types.ArrayType).itemsType;
      value.forEach((item, index) => check(items, item, [...path, String(index)], issues));
      return;
    }
    case 'map': {
      if (!isPlainObject(value)) return void fail('must be an object (map)');
      const values = (type as avro.types.MapType).valuesType;
      for (const [key, item] of Object.entries(value)) check(values, item, [...path, key], issues);
      return;
    }
    default:
      if (type.typeName.startsWith('union')) {
        const branches = (type as avro.types.UnwrappedUnionType).types;
        if (!branches.some((branch: avro.Type) => branch.isValid(value))) {
          // With one non-null branch, say what is wrong inside it rather than "one of".
          const nonNull = branches.filter((branch: avro.Type) => branch.typeName !== 'null');
          if (nonNull.length === 1 && value !== null)
            return check(nonNull[0]!, value, path, issues);
          fail(`must be ${describeType(type)}`);
        }
        return;
      }
      if (!type.isValid(value)) fail(`must be ${describeType(type)}, got ${shown(value)}`);
  }
}
