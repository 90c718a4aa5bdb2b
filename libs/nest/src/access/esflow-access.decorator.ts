import { SetMetadata } from '@nestjs/common';
import type { EsflowAccessRequirement } from './access-options';

/** Metadata key of {@link EsflowAccess}. */
export const ESFLOW_ACCESS_METADATA = 'esflow:access';

/**
 * Declares what a controller or handler needs when access control is on, instead of the rule by
 * HTTP method (GET, HEAD and OPTIONS need `reader`, every other method `operator`): `public`
 * (no credentials), `reader` (e.g. a POST that only computes an answer) or `operator`. A
 * handler's declaration wins over its controller's.
 */
export const EsflowAccess = (requirement: EsflowAccessRequirement) =>
  SetMetadata(ESFLOW_ACCESS_METADATA, requirement);
