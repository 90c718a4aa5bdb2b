import { applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { z } from 'zod';

/**
 * The `limit` query parameter of every paged list: decimal digits only (`0x10`, `1e2` or ` 5`
 * are not limits), 1 to 1 000, 50 when absent.
 */
export const pageLimit = z
  .string()
  .regex(/^\d{1,4}$/, 'must be a whole number from 1 to 1000, in decimal digits')
  .transform(Number)
  .pipe(z.number().min(1, 'must be at least 1').max(1000, 'must be at most 1000'))
  .default('50');

/** The OpenAPI of `limit` and `after`, as {@link pageLimit} and the lists' cursors read them. */
export function ApiPageQuery(afterExample?: string): MethodDecorator {
  return applyDecorators(
    ApiQuery({
      name: 'limit',
      required: false,
      description: 'Page size, in decimal digits',
      schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
    }),
    ApiQuery({
      name: 'after',
      required: false,
      description: "Cursor: the previous page's `next`",
      schema: { type: 'string', ...(afterExample ? { example: afterExample } : {}) },
    }),
  );
}
