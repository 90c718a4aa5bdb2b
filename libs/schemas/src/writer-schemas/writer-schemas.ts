import {
  ErrorCode,
  EsflowError,
  EventStore,
  hasErrorCode,
  isRetriable,
  SchemaReference,
} from '@esflow/core';
import {
  SchemaRegistry,
  subjectFor,
  SubjectNamingStrategy,
} from '../registry/schema-registry.port';
import { SchemaCatalog } from '../schema-catalog';
import { schemaFingerprint } from './schema-fingerprint';
import { KeptSchema, keptSchema, SchemaLedger } from './schema-ledger';

/** What {@link WriterSchemas.open} needs. */
export interface WriterSchemasOptions {
  /** Where the writer schemas are kept, beside the events. */
  readonly store: EventStore;
  readonly registry: SchemaRegistry;
  /** The current schemas, registered at start-up. */
  readonly catalog: SchemaCatalog;
  readonly subjectNaming?: SubjectNamingStrategy;
}

/** A kept schema id under which the registry now answers another schema. */
export interface SchemaMismatch {
  readonly kept: KeptSchema;
  /** The registry's schema under that id. */
  readonly found: string;
}

/** How the registry compares with the kept schemas: ids it lacks, ids it answers otherwise. */
export interface RegistryComparison {
  readonly missing: readonly KeptSchema[];
  readonly mismatched: readonly SchemaMismatch[];
}

/**
 * The registry as esflow last saw it: `up` when it answers every kept id with the kept schema;
 * `down` with the reason in words when it cannot be reached, lacks kept ids it could not take
 * back, or answers a kept id with another schema.
 */
export interface RegistryStatus {
  readonly status: 'up' | 'down';
  readonly reason?: string;
  /** How many schema ids esflow keeps. */
  readonly keptIds: number;
  /** Ids this check put back into the registry under their own numbers. */
  readonly restoredIds: readonly number[];
  readonly missingIds: readonly number[];
  readonly mismatchedIds: readonly number[];
}

const nameOf = (registry: SchemaRegistry) => registry.description ?? 'the schema registry';
const described = (schema: KeptSchema) => `${schema.id} (${schema.subject} v${schema.version})`;

function listed<T>(items: readonly T[], show: (item: T) => string): string {
  const shown = items.slice(0, 10).map(show).join(', ');
  return items.length > 10 ? `${shown} and ${items.length - 10} more` : shown;
}

/** The full name of the record in a schema text, or what else it is. */
function recordName(text: string): string {
  try {
    const schema = JSON.parse(text) as { name?: unknown; namespace?: unknown };
    if (typeof schema.name === 'string')
      return schema.name.includes('.') || typeof schema.namespace !== 'string'
        ? schema.name
        : `${schema.namespace}.${schema.name}`;
  } catch {
    // not JSON
  }
  return 'a schema that is not an Avro record';
}

const REPAIR =
  'put them back under their ids: on Apicurio Registry run `esflow schemas restore-ids` (into an empty registry, before any other client registers); on Confluent Schema Registry import them in IMPORT mode (see "The schema registry" in esflow\'s README)';

/** The one message of a registry that answers kept ids with other schemas. */
export function mismatchMessage(
  registry: SchemaRegistry,
  mismatched: readonly SchemaMismatch[],
): string {
  return `${nameOf(registry)} answers schema ids that esflow's stored events were written under with other schemas: ${listed(
    mismatched,
    (m) => `id ${described(m.kept)} is now ${recordName(m.found)}`,
  )}. esflow still reads its events (it keeps their schemas), but consumers would decode them with the wrong schemas, so it does not go on. The registry was wiped and another client registered first: empty it, then ${REPAIR}`;
}

/** The message of kept ids the registry lacks and did not take back. */
function missingMessage(
  registry: SchemaRegistry,
  missing: readonly KeptSchema[],
  why: string,
): string {
  return `${nameOf(registry)} lacks schema ids that esflow's stored events were written under: ${listed(missing, described)} (${why}). esflow reads its events with the schemas it keeps, but consumers cannot resolve these ids: ${REPAIR}`;
}

/** Runs `work` on every item, `concurrency` at a time, in order. */
async function eachLimited<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += concurrency)
    results.push(...(await Promise.all(items.slice(start, start + concurrency).map(work))));
  return results;
}

/**
 * Asks the registry for each kept id and compares the answer's fingerprint with the kept one.
 * Throws (retriable) when the registry cannot be reached.
 */
export async function compareWithRegistry(
  registry: SchemaRegistry,
  kept: Iterable<KeptSchema>,
): Promise<RegistryComparison> {
  const missing: KeptSchema[] = [];
  const mismatched: SchemaMismatch[] = [];
  await eachLimited([...kept], 8, async (schema) => {
    try {
      const found = await registry.schemaById(schema.id);
      if (schemaFingerprint(found) !== schema.fingerprint) mismatched.push({ kept: schema, found });
    } catch (error) {
      if (!hasErrorCode(error, ErrorCode.SchemaNotFound)) throw error;
      missing.push(schema);
    }
  });
  const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
  return {
    missing: missing.sort(byId),
    mismatched: mismatched.sort((a, b) => byId(a.kept, b.kept)),
  };
}

/** The kept ids a comparison found missing or answered with another schema. */
function offIds(comparison: RegistryComparison): Set<number> {
  return new Set(
    [...comparison.missing, ...comparison.mismatched.map((m) => m.kept)].map((s) => s.id),
  );
}

/**
 * Puts `missing` back into the registry under their ids where it can, then compares again.
 * `unrestorable` says why some are still missing (the registry cannot choose ids, or refused).
 */
async function restoreMissing(
  registry: SchemaRegistry,
  missing: readonly KeptSchema[],
): Promise<{ restored: number[]; after: RegistryComparison; unrestorable?: string }> {
  if (missing.length === 0) return { restored: [], after: { missing: [], mismatched: [] } };
  if (!registry.restore)
    return {
      restored: [],
      after: { missing, mismatched: [] },
      unrestorable: 'this registry adapter cannot put schemas under chosen ids',
    };
  try {
    await registry.restore(missing);
  } catch (error) {
    if (isRetriable(error)) throw error;
    return {
      restored: [],
      after: { missing, mismatched: [] },
      unrestorable: (error as Error).message,
    };
  }
  const after = await compareWithRegistry(registry, missing);
  const left = offIds(after);
  return {
    restored: missing.map((schema) => schema.id).filter((id) => !left.has(id)),
    after,
    ...(after.missing.length > 0
      ? { unrestorable: 'the registry did not take them back under their ids' }
      : {}),
  };
}

/** A catalog schema as start-up plans it: its subject, text, fingerprint and kept id, if any. */
interface PlannedSchema {
  readonly name: string;
  readonly subject: string;
  readonly text: string;
  readonly fingerprint: string;
  /** The newest kept version of the subject with the same fingerprint. */
  readonly known: KeptSchema | undefined;
}

function planned(
  catalog: SchemaCatalog,
  kept: ReadonlyMap<number, KeptSchema>,
  naming: SubjectNamingStrategy | undefined,
): PlannedSchema[] {
  return catalog.names().map((name) => {
    const entry = catalog.get(name)!;
    const subject = subjectFor(name, naming);
    const fingerprint = schemaFingerprint(entry.expanded);
    const known = [...kept.values()]
      .filter((schema) => schema.subject === subject && schema.fingerprint === fingerprint)
      .sort((a, b) => b.version - a.version)[0];
    return { name, subject, text: entry.expanded, fingerprint, known };
  });
}

const referenceTo = ({ subject, version, id }: KeptSchema): SchemaReference => ({
  subject,
  version,
  id,
});

/** Start-up found the registry unreachable (a retriable failure of one of its calls). */
class RegistryUnreachable extends Error {
  constructor(readonly failure: Error) {
    super(failure.message);
  }
}

/** `call`'s outcome; a retriable failure (refused, timed out, failing) as unreachable. */
async function reaching<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isRetriable(error)) throw new RegistryUnreachable(error as Error);
    throw error;
  }
}

/**
 * The one message of a start-up that needs the unreachable registry: `failure` (naming the
 * registry, the call and the cause) and the subjects whose current schema has no kept id yet.
 */
function registryNeededMessage(failure: string, subjects: readonly string[]): string {
  return `${failure}. esflow needs it to start: ${listed(subjects, (subject) => subject)} ${subjects.length === 1 ? 'has' : 'have'} no schema id kept in the event store yet, and only the registry can hand one out (once every current schema has a kept id, esflow starts without the registry)`;
}

/**
 * The writer schemas esflow keeps, and the registry kept in step with them. Every schema id esflow
 * writes under is kept, with its text and fingerprint, in the event store itself (a
 * {@link SchemaLedger}) before the first event that uses it; events are decoded with the kept
 * schema, so stored events stay readable whatever happens to the registry. At start-up
 * ({@link WriterSchemas.open}) and on every {@link WriterSchemas.check} the registry must answer
 * each kept id with the same schema: ids it lacks (a wiped registry) are put back under their own
 * numbers where the registry allows; ids it answers with another schema (wiped, and another client
 * registered first) stop start-up with one message naming the ids, the subjects and the repair.
 * A registry that cannot be reached stops start-up only when a current schema has no kept id yet.
 */
export class WriterSchemas {
  private constructor(
    private readonly ledger: SchemaLedger,
    private readonly registry: SchemaRegistry,
    private kept: Map<number, KeptSchema>,
    private readonly references: ReadonlyMap<string, SchemaReference>,
    private latest: RegistryStatus,
    /** Catalog schemas written under their kept ids without having been registered. */
    private unregistered: readonly PlannedSchema[] = [],
    /** Whether start-up went on without the registry, which it could not reach. */
    readonly startedWithoutRegistry = false,
  ) {}

  /**
   * Checks the registry against the kept schemas (refusing a mismatch: INVALID_CONFIGURATION),
   * restores missing ids where it can, registers the catalog's current schemas and keeps each new
   * id (with the subject's earlier versions the registry holds, the first time a subject is
   * kept). While kept ids are missing and cannot be restored, schemas already kept are written
   * under their kept ids without registering, and a new schema stops start-up (the registry could
   * hand it an id esflow's events already use).
   *
   * A registry that cannot be reached (refused, timed out, failing: a retriable error) is not
   * needed when every current schema is kept already (same subject, same fingerprint): start-up
   * goes on without it, writing under the kept ids and decoding with the kept schemas, with the
   * status `down`; the first {@link WriterSchemas.check} that finds the registry answering every
   * kept id registers them. Otherwise it stops start-up (STORE_UNAVAILABLE, retriable) with the
   * registry's failure and the subjects that have no kept id yet. A registry that answers wrongly
   * (not a registry API, refused access, other schemas under kept ids) stops start-up as always.
   */
  static async open(options: WriterSchemasOptions): Promise<WriterSchemas> {
    const { registry } = options;
    const ledger = new SchemaLedger(options.store);
    const kept = await ledger.load();
    const plans = planned(options.catalog, kept, options.subjectNaming);
    try {
      return await WriterSchemas.openOnRegistry(ledger, registry, kept, plans);
    } catch (error) {
      if (!(error instanceof RegistryUnreachable)) throw error;
      return WriterSchemas.openWithoutRegistry(ledger, registry, kept, plans, error.failure);
    }
  }

  /** Start-up without the registry: possible only when every current schema has a kept id. */
  private static openWithoutRegistry(
    ledger: SchemaLedger,
    registry: SchemaRegistry,
    kept: Map<number, KeptSchema>,
    plans: readonly PlannedSchema[],
    failure: Error,
  ): WriterSchemas {
    const unkept = plans.filter((plan) => !plan.known);
    if (unkept.length > 0)
      throw new EsflowError(
        ErrorCode.StoreUnavailable,
        registryNeededMessage(
          failure.message,
          unkept.map((plan) => plan.subject),
        ),
        { retriable: true, cause: failure },
      );
    const references = new Map(plans.map((plan) => [plan.name, referenceTo(plan.known!)]));
    const status: RegistryStatus = {
      status: 'down',
      reason: failure.message,
      keptIds: kept.size,
      restoredIds: [],
      missingIds: [],
      mismatchedIds: [],
    };
    return new WriterSchemas(ledger, registry, kept, references, status, plans, true);
  }

  /** Start-up on a registry that answers; its retriable failures as {@link RegistryUnreachable}. */
  private static async openOnRegistry(
    ledger: SchemaLedger,
    registry: SchemaRegistry,
    loaded: Map<number, KeptSchema>,
    plans: readonly PlannedSchema[],
  ): Promise<WriterSchemas> {
    let kept = loaded;
    const before = await reaching(() => compareWithRegistry(registry, kept.values()));
    if (before.mismatched.length > 0)
      throw new EsflowError(
        ErrorCode.InvalidConfiguration,
        mismatchMessage(registry, before.mismatched),
      );
    const { restored, after, unrestorable } = await reaching(() =>
      restoreMissing(registry, before.missing),
    );
    if (after.mismatched.length > 0)
      throw new EsflowError(
        ErrorCode.InvalidConfiguration,
        mismatchMessage(registry, after.mismatched),
      );
    const lost = new Set(after.missing.map((schema) => schema.id));

    const unregistrable = plans.filter((plan) => !plan.known && lost.size > 0);
    if (unregistrable.length > 0)
      throw new EsflowError(
        ErrorCode.InvalidConfiguration,
        `${missingMessage(registry, after.missing, unrestorable ?? 'not restored')}. Until then esflow does not register new schemas (${listed(unregistrable, (plan) => plan.subject)}): the registry could hand them ids its events already use`,
      );

    const references = new Map<string, SchemaReference>();
    const unregistered: PlannedSchema[] = [];
    const fresh: KeptSchema[] = [];
    for (const plan of plans) {
      if (plan.known && lost.has(plan.known.id)) {
        // The registry lost it and cannot take it back: write under the kept id, as before.
        references.set(plan.name, referenceTo(plan.known));
        unregistered.push(plan);
        continue;
      }
      const registered = await reaching(() => registry.register(plan.subject, plan.text));
      const clash = kept.get(registered.id);
      if (clash && clash.fingerprint !== plan.fingerprint)
        throw new EsflowError(
          ErrorCode.InvalidConfiguration,
          mismatchMessage(registry, [{ kept: clash, found: plan.text }]),
        );
      if (!clash) {
        const add = (schema: KeptSchema) => {
          if (!kept.has(schema.id) && !fresh.some((s) => s.id === schema.id)) fresh.push(schema);
        };
        // The first time a subject is kept, so are its earlier versions: events written before
        // esflow kept schemas may use them.
        if (![...kept.values(), ...fresh].some((s) => s.subject === plan.subject))
          (
            await reaching(() => earlierVersions(registry, plan.subject, registered.version))
          ).forEach(add);
        add(keptSchema({ ...registered, schema: plan.text }));
      }
      references.set(plan.name, {
        subject: plan.subject,
        version: registered.version,
        id: registered.id,
      });
    }
    if (fresh.length > 0) {
      await ledger.keep(fresh);
      kept = await ledger.load();
      // Another process may have kept another schema under one of these ids meanwhile.
      const clashes: SchemaMismatch[] = [];
      for (const plan of plans) {
        const keptAs = kept.get(references.get(plan.name)!.id);
        if (keptAs && keptAs.fingerprint !== plan.fingerprint)
          clashes.push({ kept: keptAs, found: plan.text });
      }
      if (clashes.length > 0)
        throw new EsflowError(ErrorCode.InvalidConfiguration, mismatchMessage(registry, clashes));
    }
    const status = statusOf(kept.size, restored, after, unrestorable, registry);
    return new WriterSchemas(ledger, registry, kept, references, status, unregistered);
  }

  /** The subject, version and id new events of `schemaName` (a catalog record) are written under. */
  reference(schemaName: string): SchemaReference | undefined {
    return this.references.get(schemaName);
  }

  /**
   * The writer schema of `id`: the kept one, with no registry call (read again from the store
   * for an id another process kept since); the registry's only for ids esflow never kept (events
   * written before it kept schemas).
   */
  async writer(id: number): Promise<string> {
    const kept = this.kept.get(id) ?? (await this.reload()).get(id);
    return kept ? kept.schema : this.registry.schemaById(id);
  }

  /** Every kept schema, by id. */
  keptSchemas(): ReadonlyMap<number, KeptSchema> {
    return this.kept;
  }

  /** The outcome of the last check (at first, of the start-up check). */
  get status(): RegistryStatus {
    return this.latest;
  }

  /** The subjects of current schemas written under kept ids that are not registered yet. */
  get unregisteredSubjects(): readonly string[] {
    return this.unregistered.map((plan) => plan.subject);
  }

  /**
   * Checks the registry now: reads the kept schemas again (another process may have kept more),
   * asks the registry for each, puts missing ones back under their ids where it can, and reports.
   * Once the registry answers every kept id with its schema, the current schemas start-up could
   * not register (it went on without the registry, or the registry lacked their ids) are
   * registered. Never throws: an unreachable registry is `down` with the reason.
   */
  async check(): Promise<RegistryStatus> {
    let kept = this.kept;
    try {
      kept = await this.reload();
      const before = await compareWithRegistry(this.registry, kept.values());
      const { restored, after, unrestorable } =
        before.mismatched.length > 0
          ? { restored: [], after: before, unrestorable: undefined }
          : await restoreMissing(this.registry, before.missing);
      const status = statusOf(kept.size, restored, after, unrestorable, this.registry);
      this.latest =
        status.status === 'up' && this.unregistered.length > 0
          ? await this.registerUnregistered(kept, status)
          : status;
    } catch (error) {
      this.latest = {
        status: 'down',
        reason: (error as Error).message,
        keptIds: kept.size,
        restoredIds: [],
        missingIds: [],
        mismatchedIds: [],
      };
    }
    return this.latest;
  }

  /**
   * Registers the current schemas start-up wrote under kept ids without registering, on a
   * registry that answers every kept id. Events stay written under the kept ids (the registry
   * answers them with these schemas); an id the registry hands one of them that esflow keeps
   * for another schema is reported as a mismatch.
   */
  private async registerUnregistered(
    kept: ReadonlyMap<number, KeptSchema>,
    status: RegistryStatus,
  ): Promise<RegistryStatus> {
    const clashes: SchemaMismatch[] = [];
    for (const plan of this.unregistered) {
      const registered = await this.registry.register(plan.subject, plan.text);
      const clash = kept.get(registered.id);
      if (clash && clash.fingerprint !== plan.fingerprint)
        clashes.push({ kept: clash, found: plan.text });
      else this.unregistered = this.unregistered.filter((other) => other !== plan);
    }
    if (clashes.length === 0) return status;
    return {
      ...status,
      status: 'down',
      reason: mismatchMessage(this.registry, clashes),
      mismatchedIds: clashes.map((mismatch) => mismatch.kept.id),
    };
  }

  private async reload(): Promise<Map<number, KeptSchema>> {
    this.kept = await this.ledger.load();
    return this.kept;
  }
}

/** The versions of `subject` before `current` that the registry holds. */
async function earlierVersions(
  registry: SchemaRegistry,
  subject: string,
  current: number,
): Promise<KeptSchema[]> {
  const found: KeptSchema[] = [];
  for (const number of await registry.versions(subject)) {
    if (number >= current) continue;
    const version = await registry.version(subject, number);
    if (version) found.push(keptSchema(version));
  }
  return found;
}

function statusOf(
  keptIds: number,
  restored: readonly number[],
  comparison: RegistryComparison,
  unrestorable: string | undefined,
  registry: SchemaRegistry,
): RegistryStatus {
  const ids = {
    keptIds,
    restoredIds: restored,
    missingIds: comparison.missing.map((schema) => schema.id),
    mismatchedIds: comparison.mismatched.map((mismatch) => mismatch.kept.id),
  };
  if (comparison.mismatched.length > 0)
    return { status: 'down', reason: mismatchMessage(registry, comparison.mismatched), ...ids };
  if (comparison.missing.length > 0)
    return {
      status: 'down',
      reason: missingMessage(registry, comparison.missing, unrestorable ?? 'not restored'),
      ...ids,
    };
  return { status: 'up', ...ids };
}

/** What {@link restoreKeptIds} found and did, per kept id. */
export interface RestoreReport {
  /** Every kept schema, by id. */
  readonly kept: readonly KeptSchema[];
  /** Ids the registry already answered with the kept schema. */
  readonly present: readonly number[];
  /** Ids put back under their own numbers. */
  readonly restored: readonly number[];
  /** Ids the registry still lacks. */
  readonly missing: readonly KeptSchema[];
  /** Ids under which the registry holds another schema (left as they are). */
  readonly mismatched: readonly SchemaMismatch[];
}

/**
 * Puts every schema esflow keeps in `store` that the registry lacks back under its own id (the
 * repair of a wiped registry; `esflow schemas restore-ids`), and reports each id. Ids the
 * registry answers with another schema are reported, never overwritten. Throws when the registry
 * cannot choose ids (e.g. Confluent Schema Registry over this adapter: use its IMPORT mode).
 */
export async function restoreKeptIds(
  store: EventStore,
  registry: SchemaRegistry,
): Promise<RestoreReport> {
  const kept = [...(await new SchemaLedger(store).load()).values()].sort((a, b) => a.id - b.id);
  const before = await compareWithRegistry(registry, kept);
  if (before.missing.length > 0) {
    if (!registry.restore)
      throw new EsflowError(
        ErrorCode.InvalidConfiguration,
        `${nameOf(registry)} cannot put schemas under chosen ids: ${REPAIR}`,
      );
    await registry.restore(before.missing);
  }
  const after = before.missing.length > 0 ? await compareWithRegistry(registry, kept) : before;
  const offBefore = offIds(before);
  const offAfter = offIds(after);
  return {
    kept,
    present: kept.map((schema) => schema.id).filter((id) => !offBefore.has(id)),
    restored: before.missing.map((schema) => schema.id).filter((id) => !offAfter.has(id)),
    missing: after.missing,
    mismatched: after.mismatched,
  };
}
