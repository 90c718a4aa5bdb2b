import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import {
  composeFeatures,
  ErrorCode,
  EsflowError,
  EventStore,
  readEsflowMetadata,
  recordedContextOfSnapshot,
  RecordedEvent,
  schemaNameOf,
  SchemaReference,
  SnapshotStore,
  WorkflowCatalog,
} from '@esflow/core';
import { ResolvedEsflowOptions } from '@esflow/nest';
import { AvroPayloadCodec, SchemaCatalog, withFrameworkSchemas } from '@esflow/schemas';
import { LoadedConfig, loadEsflowConfig } from './esflow-config';
import { closeAll, connect } from './projections-command';
import { Output } from './schemas-command';

/** The options of `esflow export`. */
export interface ExportCommandOptions {
  readonly config?: string;
  /** Only this workflow's instances (default: every workflow the config registers). */
  readonly workflow?: string;
  /** The file to write (default: standard output). */
  readonly out?: string;
}

/** The format of the export file, in its first line. */
export const EXPORT_FORMAT = 1;

/** The first line of an export file. */
export interface ExportHeaderLine {
  readonly kind: 'export';
  readonly format: number;
  readonly exportedAt: string;
  readonly workflows: readonly string[];
}

/**
 * One recorded event: where it sits, its type, metadata (as stored: stateBefore/stateAfter,
 * definition version, ...), the schema it was written with, and its payload decoded to JSON by
 * the config's current schema `readAs` (as the engine reads it when it folds the instance).
 */
export interface ExportEventLine {
  readonly kind: 'event';
  readonly stream: string;
  readonly revision: number;
  readonly type: string;
  readonly eventId: string;
  readonly recordedAt: string;
  readonly schema: SchemaReference;
  readonly readAs: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** The latest stored snapshot of an instance: its state and context after `revision`. */
export interface ExportSnapshotLine {
  readonly kind: 'snapshot';
  readonly stream: string;
  readonly revision: number;
  readonly lastEventId: string;
  readonly state: unknown;
  readonly context: unknown;
}

/** A line of an export file (NDJSON). */
export type ExportLine = ExportHeaderLine | ExportEventLine | ExportSnapshotLine;

/** The workflows a command works on: `--workflow`, checked against the config, or all of them. */
export function selectedWorkflows(catalog: WorkflowCatalog, workflow?: string): string[] {
  if (workflow === undefined) return catalog.names();
  if (!catalog.latest(workflow))
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `the config registers no workflow named ${workflow} (it registers ${catalog.names().join(', ') || 'none'})`,
    );
  return [workflow];
}

/** The definitions the config registers, every version. */
export function catalogOf(config: LoadedConfig): WorkflowCatalog {
  return new WorkflowCatalog(
    composeFeatures(
      config.features.map((feature, index) => ({
        feature,
        registeredBy: `${config.file} features[${index}]`,
      })),
    ).workflows,
  );
}

/** Why a read-only view refuses to write: the config's schemas are not all kept in the store. */
const SCHEMAS_NOT_KEPT =
  "the config's schemas include versions this store has never written under (new or changed schemas); esflow export and replay-test only read: export with the schemas the application runs";

/**
 * A view of `store` that reads only: opening the codec must not keep new schemas in it. An
 * append throws INVALID_CONFIGURATION with `refusal`.
 */
export function readOnly(store: EventStore, refusal: string = SCHEMAS_NOT_KEPT): EventStore {
  return {
    readStream: (...args) => store.readStream(...args),
    readAll: (...args) => store.readAll(...args),
    subscribeToAll: (...args) => store.subscribeToAll(...args),
    ping: () => store.ping(),
    close: async () => {},
    append: async () => {
      throw new EsflowError(ErrorCode.InvalidConfiguration, refusal);
    },
  };
}

const PAGE = 1_000;

/**
 * The instance streams of `workflows` in the store, as export lines: every event in the store's
 * global order, its payload decoded by the config's current schemas (writer schemas come from
 * those esflow keeps beside the events), then the latest snapshot of each instance when a
 * snapshot store is configured and holds one that matches the stream. Reads only.
 */
export async function* storedLines(
  config: LoadedConfig,
  adapters: ResolvedEsflowOptions,
  workflows: readonly string[],
): AsyncGenerator<ExportEventLine | ExportSnapshotLine> {
  const composed = composeFeatures(
    config.features.map((feature, index) => ({
      feature,
      registeredBy: `${config.file} features[${index}]`,
    })),
  );
  const catalog = new WorkflowCatalog(composed.workflows);
  const codec = await AvroPayloadCodec.create({
    catalog: SchemaCatalog.load(withFrameworkSchemas(composed.schemaDirectories)),
    registry: adapters.registry,
    store: readOnly(adapters.store),
  });
  const lastEvents = new Map<string, Map<number, string>>();
  let after: RecordedEvent['position'] | undefined;
  for (;;) {
    const page = await adapters.store.readAll({
      maxCount: PAGE,
      filter: { streamNamePrefixes: workflows.map((workflow) => `${workflow}-`) },
      ...(after ? { after } : {}),
    });
    for (const event of page) {
      const metadata = readEsflowMetadata(event.metadata);
      if (!workflows.includes(metadata.workflow)) continue;
      const definition =
        catalog.version(metadata.workflow, metadata.definitionVersion) ??
        catalog.latest(metadata.workflow)!;
      const readAs = schemaNameOf(definition, event.type);
      const payload = await codec.decode(readAs, event.data);
      const ids = lastEvents.get(event.streamName) ?? new Map<number, string>();
      ids.set(event.revision, event.eventId);
      lastEvents.set(event.streamName, ids);
      yield {
        kind: 'event',
        stream: event.streamName,
        revision: event.revision,
        type: event.type,
        eventId: event.eventId,
        recordedAt: event.recordedAt.toISOString(),
        schema: metadata.schema,
        readAs,
        metadata: event.metadata,
        payload,
      };
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.position;
  }
  const snapshots: SnapshotStore | undefined = adapters.snapshots?.store;
  if (!snapshots) return;
  for (const [stream, ids] of lastEvents) {
    const stored = await snapshots.read(stream);
    const recorded = stored ? recordedContextOfSnapshot(stored.data) : undefined;
    // A snapshot of another stream of the same name (a wiped store) is not this instance's.
    if (!recorded || ids.get(recorded.revision) !== recorded.lastEventId) continue;
    yield {
      kind: 'snapshot',
      stream,
      revision: recorded.revision,
      lastEventId: recorded.lastEventId,
      state: recorded.state,
      context: recorded.context,
    };
  }
}

/** Closes what {@link connect} opened, the snapshot store included. */
export async function closeConnection(adapters: ResolvedEsflowOptions): Promise<void> {
  await Promise.all([closeAll(adapters), adapters.snapshots?.store.close().catch(() => undefined)]);
}

/**
 * `esflow export [--workflow w] [--out file]`: writes the instance streams of the configured
 * store (the config's connect, else the environment, as the other commands) as NDJSON, one line
 * per event after a header line, then a line per instance snapshot kept. Readable and
 * replayable (`esflow replay-test --from-export`) without the store or the registry.
 */
export async function exportStreams(options: ExportCommandOptions, io: Output): Promise<number> {
  const config = await loadEsflowConfig(options.config);
  const workflows = selectedWorkflows(catalogOf(config), options.workflow);
  const adapters = await connect(config);
  const file = options.out ? createWriteStream(options.out) : undefined;
  const write = async (line: ExportLine) => {
    const text = `${JSON.stringify(line)}\n`;
    if (!file) return io.out(text);
    if (!file.write(text)) await once(file, 'drain');
  };
  let events = 0;
  const streams = new Set<string>();
  let snapshots = 0;
  try {
    await write({
      kind: 'export',
      format: EXPORT_FORMAT,
      exportedAt: new Date().toISOString(),
      workflows,
    });
    for await (const line of storedLines(config, adapters, workflows)) {
      await write(line);
      if (line.kind === 'event') {
        events++;
        streams.add(line.stream);
      } else snapshots++;
    }
  } finally {
    if (file) {
      file.end();
      await once(file, 'close');
    }
    await closeConnection(adapters);
  }
  io.err(
    `exported ${events} events of ${streams.size} instances (${workflows.join(', ')}) and ${snapshots} snapshots${options.out ? ` to ${options.out}` : ''}\n`,
  );
  return 0;
}
