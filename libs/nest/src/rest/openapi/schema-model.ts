import type { Type } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions, ApiSchema, ApiSchemaOptions } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** One property of a {@link schemaModel}: its schema (or a model's); required unless `required: false`. */
export type ModelProperty = ApiPropertyOptions;

/**
 * A named OpenAPI component made from a table rather than a hand-written class: @nestjs/swagger
 * only registers components for classes, so this makes a class `name` with one decorated property
 * per entry (required unless it says `required: false`, as with `@ApiProperty`). `schema` adds object-level keywords
 * (`additionalProperties`), which `@ApiSchema` passes through.
 */
export function schemaModel(
  name: string,
  description: string,
  properties: Readonly<Record<string, ModelProperty>>,
  schema: Pick<SchemaObject, 'additionalProperties'> = {},
): Type<unknown> {
  const model = { [name]: class {} }[name]!;
  // A class property's design type is what @nestjs/swagger falls back on; these have none, so
  // one without a type (a `oneOf`) is given `Object`, as an `unknown` property would be.
  for (const [key, property] of Object.entries(properties))
    ApiProperty(property.type === undefined ? { ...property, type: Object } : property)(
      model.prototype,
      key,
    );
  const options: ApiSchemaOptions & Pick<SchemaObject, 'additionalProperties'> = {
    name,
    description,
    ...schema,
  };
  ApiSchema(options)(model);
  return model;
}
