import { Inject, Injectable } from '@nestjs/common';
import {
  DocumentQuery,
  DocumentReader,
  ErrorCode,
  EsflowError,
  ProjectionDefinition,
  ReadModelDocument,
} from '@esflow/core';
import { PROJECTIONS, READ_MODEL_STORE } from '../tokens';

/** A query of {@link ProjectionQueries.find}: `limit` defaults to 100. */
export type ProjectionQuery = Omit<DocumentQuery, 'limit'> & { readonly limit?: number };

/**
 * Reads the documents of the application's projections, for its own controllers and services:
 * `find(awaitingKyc, 'onboardings', { where: { country: 'DE' } })`. Reads the active generation
 * (a rebuild swaps in atomically), so a query never sees a half-applied batch; it is eventually
 * consistent with the event log. Naming a projection or collection that is not registered is a
 * programming error (INVALID_DEFINITION), not an empty answer.
 */
@Injectable()
export class ProjectionQueries {
  private readonly byName: ReadonlyMap<string, ProjectionDefinition>;

  constructor(
    @Inject(READ_MODEL_STORE) private readonly documents: DocumentReader,
    @Inject(PROJECTIONS) projections: readonly ProjectionDefinition[],
  ) {
    this.byName = new Map(projections.map((projection) => [projection.name, projection]));
  }

  /** Documents of one collection, ordered by id, filtered by equality on top-level fields. */
  async find<TDocument extends ReadModelDocument = ReadModelDocument>(
    projection: ProjectionDefinition | string,
    collection: string,
    query: ProjectionQuery = {},
  ): Promise<TDocument[]> {
    const name = this.check(projection, collection);
    return (await this.documents.find(name, collection, {
      ...query,
      limit: query.limit ?? 100,
    })) as TDocument[];
  }

  /** The document stored under `id`, or undefined. */
  async get<TDocument extends ReadModelDocument = ReadModelDocument>(
    projection: ProjectionDefinition | string,
    collection: string,
    id: string,
  ): Promise<TDocument | undefined> {
    const [document] = await this.find<TDocument>(projection, collection, { id, limit: 1 });
    return document;
  }

  private check(projection: ProjectionDefinition | string, collection: string): string {
    const name = typeof projection === 'string' ? projection : projection.name;
    const definition = this.byName.get(name);
    if (!definition)
      throw new EsflowError(
        ErrorCode.InvalidDefinition,
        `no projection named ${name} is registered (registered: ${[...this.byName.keys()].join(', ')})`,
      );
    if (!(collection in definition.collections))
      throw new EsflowError(
        ErrorCode.InvalidDefinition,
        `projection ${name} has no collection ${collection} (collections: ${Object.keys(definition.collections).join(', ')})`,
      );
    return name;
  }
}
