/**
 * esdb-wire-double: a TEST DOUBLE of EventStoreDB's gRPC wire protocol (Streams + ServerFeatures).
 *
 * This is NOT EventStoreDB and never stands in for it. It exists so that esflow's EventStoreDB
 * adapter can be exercised in CI through the REAL client library (@eventstore/db-client) over the
 * REAL gRPC wire protocol on machines where no EventStoreDB server can be installed. The store
 * contract suite must still run against a real server whenever one is given
 * (ESDB_CONNECTION_STRING, see /work/shared/INFRA.md and test/doubles/esdb/README.md).
 *
 * The double is a @grpc/grpc-js server built on the service definitions that @eventstore/db-client
 * ships in `generated/` (streams_grpc_pb, serverfeatures_grpc_pb, ...). Its storage is in memory.
 *
 * Sources the behaviour follows (cited again at each behaviour below):
 * - [DOCS-APPEND]  EventStoreDB docs, gRPC clients, "Appending events"
 *                  (EventStore/documentation: docs/clients/grpc/appending-events.md)
 * - [DOCS-READ]    EventStoreDB docs, gRPC clients, "Reading events"
 *                  (EventStore/documentation: docs/clients/grpc/reading-events.md)
 * - [DOCS-SUBS]    EventStoreDB docs, gRPC clients, "Catch-up subscriptions"
 *                  (EventStore/documentation: docs/clients/grpc/subscriptions.md), incl. its sections
 *                  "Subscribing from a specific position", "Server-side filtering", "Checkpointing"
 * - [DOCS-IDEMPOTENCE] EventStoreDB docs, .NET client 21.2, "Optimistic concurrency and idempotence"
 *                  (EventStore/documentation: docs/clients/dotnet/21.2/appending/
 *                  optimistic-concurrency-and-idempotence.md), the docs' full statement of the
 *                  server's idempotency rules
 * - [SRV-*]        EventStoreDB server source (EventStore/EventStore, src/EventStore.Core/...):
 *                  Services/Transport/Grpc/Streams.Append.cs, Streams.BatchAppend.cs, Streams.Read.cs,
 *                  Enumerators.AllSubscription*.cs, Enumerators.StreamSubscription.cs, ServerFeatures.cs,
 *                  Status.cs, RpcExceptions.cs, WrongExpectedVersion.cs, BatchAppendResp.cs,
 *                  Services/Storage/ReaderIndex/IndexWriter.cs (CheckCommit: idempotency rules),
 *                  Services/SubscriptionsService.cs (live checkpoints)
 * - [CLIENT-*]     @eventstore/db-client 6.2.1 dist/ (what the real client sends and expects)
 */
import * as net from 'node:net';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Any } from 'google-protobuf/google/protobuf/any_pb';
import { Empty as GoogleEmpty } from 'google-protobuf/google/protobuf/empty_pb';
import * as streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb';
import * as streamsPb from '@eventstore/db-client/generated/streams_pb';
import * as sharedPb from '@eventstore/db-client/generated/shared_pb';
import * as statusPb from '@eventstore/db-client/generated/status_pb';
import * as featuresGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import * as featuresPb from '@eventstore/db-client/generated/serverfeatures_pb';

/* ------------------------------------------------------------------------------------------------
 * Public API
 * ---------------------------------------------------------------------------------------------- */

export interface EsdbWireDoubleOptions {
  /** Port the double listens on (127.0.0.1). Default: a free port chosen by the OS. */
  port?: number;
  /**
   * Advertise and serve Streams.BatchAppend (default true). EventStoreDB servers that have
   * BatchAppend advertise it through ServerFeatures.GetSupportedMethods (every gRPC method they
   * serve is listed) [SRV-ServerFeatures.cs], and the real client then
   * appends through BatchAppend [CLIENT-streams/appendToStream/index.js]. Set false to make the
   * client use the plain Streams.Append rpc, as it does against servers without BatchAppend.
   */
  batchAppend?: boolean;
  /**
   * Largest total append in bytes (default 1048576, EventStoreDB's default MaxAppendSize,
   * [SRV-ClusterVNodeOptions.cs: MaxAppendSize = 1_024 * 1_024]).
   * The size is approximated as data + custom metadata + event type bytes.
   */
  maxAppendSize?: number;
  /** Called with each log line of the double (each line starts with "[esdb-wire-double]"). */
  log?: (line: string) => void;
}

export interface EsdbWireDouble {
  /** esdb://127.0.0.1:PORT?tls=false */
  connectionString: string;
  /** Stops the double: ends every call and connection and stops listening. */
  stop(): Promise<void>;
  /**
   * Abruptly resets every open TCP connection (as a network failure would): every open call and
   * stream fails on the client, which must reconnect (and, for a subscription, resubscribe). The
   * double keeps listening, and new connections work as before; stored events are kept.
   */
  dropConnections(): void;
  /** How many calls each rpc received (e.g. "Streams/BatchAppend"), for tests to see the path taken. */
  rpcCallCounts(): Record<string, number>;
}

const LOG_PREFIX = '[esdb-wire-double]';

/** The version string the double reports in ServerFeatures: it names the double, not a product. */
export const ESDB_WIRE_DOUBLE_SERVER_VERSION = '0.0.0-esdb-wire-double';

export async function startEsdbWireDouble(
  options: EsdbWireDoubleOptions = {},
): Promise<EsdbWireDouble> {
  const log = (line: string): void => options.log?.(`${LOG_PREFIX} ${line}`);
  const store = new EsdbDoubleStore();
  const counts: Record<string, number> = {};
  const count = (name: string): void => {
    counts[name] = (counts[name] ?? 0) + 1;
  };
  const batchAppendEnabled = options.batchAppend ?? true;
  const maxAppendSize = options.maxAppendSize ?? 1_048_576;

  const server = new grpc.Server();
  server.addService(featuresGrpc.ServerFeaturesService, {
    getSupportedMethods: (
      call: grpc.ServerUnaryCall<sharedPb.Empty, featuresPb.SupportedMethods>,
      callback: grpc.sendUnaryData<featuresPb.SupportedMethods>,
    ) => {
      count('ServerFeatures/GetSupportedMethods');
      callback(null, supportedMethods(batchAppendEnabled));
    },
  });
  server.addService(streamsGrpc.StreamsService, {
    read: (call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>) => {
      count('Streams/Read');
      handleRead(store, call, log);
    },
    append: (
      call: grpc.ServerReadableStream<streamsPb.AppendReq, streamsPb.AppendResp>,
      callback: grpc.sendUnaryData<streamsPb.AppendResp>,
    ) => {
      count('Streams/Append');
      handleAppend(store, maxAppendSize, call, callback);
    },
    batchAppend: (
      call: grpc.ServerDuplexStream<streamsPb.BatchAppendReq, streamsPb.BatchAppendResp>,
    ) => {
      count('Streams/BatchAppend');
      if (!batchAppendEnabled) {
        call.emit('error', {
          code: grpc.status.UNIMPLEMENTED,
          details: 'BatchAppend is switched off in this esdb-wire-double',
        });
        return;
      }
      handleBatchAppend(store, maxAppendSize, call);
    },
    // Delete and Tombstone are not implemented by the double (see README.md, "Left out").
    delete: (
      _call: grpc.ServerUnaryCall<streamsPb.DeleteReq, streamsPb.DeleteResp>,
      callback: grpc.sendUnaryData<streamsPb.DeleteResp>,
    ) => {
      count('Streams/Delete');
      callback({
        code: grpc.status.UNIMPLEMENTED,
        details: 'Delete is not implemented by esdb-wire-double',
      });
    },
    tombstone: (
      _call: grpc.ServerUnaryCall<streamsPb.TombstoneReq, streamsPb.TombstoneResp>,
      callback: grpc.sendUnaryData<streamsPb.TombstoneResp>,
    ) => {
      count('Streams/Tombstone');
      callback({
        code: grpc.status.UNIMPLEMENTED,
        details: 'Tombstone is not implemented by esdb-wire-double',
      });
    },
  });

  // The gRPC server listens on an internal loopback port; clients connect through a small TCP
  // relay on the public port, so that dropConnections() can reset the TCP connections themselves.
  const internalPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    );
  });

  const relayed = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(internalPort, '127.0.0.1');
    const pair = { client, upstream };
    relayed.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = (): void => {
      relayed.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  const publicPort = await new Promise<number>((resolve, reject) => {
    relay.once('error', reject);
    relay.listen(options.port ?? 0, '127.0.0.1', () => {
      relay.off('error', reject);
      const address = relay.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`${LOG_PREFIX} could not read the relay address`));
        return;
      }
      resolve(address.port);
    });
  });
  log(`listening on 127.0.0.1:${publicPort} (gRPC server on 127.0.0.1:${internalPort})`);

  const resetAll = (): void => {
    for (const pair of [...relayed]) {
      relayed.delete(pair);
      pair.client.resetAndDestroy();
      pair.upstream.resetAndDestroy();
    }
  };

  let stopped = false;
  return {
    connectionString: `esdb://127.0.0.1:${publicPort}?tls=false`,
    rpcCallCounts: () => ({ ...counts }),
    dropConnections: () => {
      log(`dropping ${relayed.size} connection(s)`);
      resetAll();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      log('stopping');
      await new Promise<void>((resolve) => {
        relay.close(() => resolve());
        resetAll();
      });
      server.forceShutdown();
    },
  };
}

/* ------------------------------------------------------------------------------------------------
 * In-memory storage
 * ---------------------------------------------------------------------------------------------- */

/** Expected stream state of an append, as the wire carries it. */
type Expected =
  | { kind: 'any' }
  | { kind: 'no_stream' }
  | { kind: 'stream_exists' }
  | { kind: 'revision'; revision: bigint };

interface ProposedEvent {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
}

interface StoredEvent extends ProposedEvent {
  streamName: string;
  revision: bigint;
  /** commit position == prepare position (see positions note in README.md). */
  position: bigint;
  /** .NET ticks (100 ns) since the Unix epoch, as the server sends in metadata "created". */
  createdTicks: bigint;
}

type AppendOutcome =
  | { kind: 'success'; currentRevision: bigint; position: bigint | undefined }
  | { kind: 'wrong_expected_version'; currentRevision: bigint };

/**
 * First log position handed out, so that no event sits at position 0 (a real transaction log
 * starts with system records; the exact first position of a real server is not reproduced).
 */
const FIRST_POSITION = 1024n;
const TICKS_PER_MS = 10_000n;

class EsdbDoubleStore {
  /** $all: the global log, in append order; positions strictly increase. */
  readonly log: StoredEvent[] = [];
  readonly streams = new Map<string, StoredEvent[]>();
  /**
   * Committed event ids, as IndexWriter._committedEvents [SRV-IndexWriter.cs]. The server keeps a
   * bounded cache (hence the docs' "in quick succession" [DOCS-APPEND]); the double never evicts.
   */
  private readonly committedIds = new Map<string, StoredEvent>();
  private nextPosition = FIRST_POSITION;
  private lastCreatedTicks = 0n;
  private readonly listeners = new Set<() => void>();

  onAppended(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  lastRevision(streamName: string): bigint {
    const events = this.streams.get(streamName);
    return events && events.length > 0 ? BigInt(events.length - 1) : -1n;
  }

  /**
   * Appends atomically (the whole check-then-write runs in one synchronous turn of the event loop,
   * so concurrent appends are serialised as the server's single storage writer serialises them).
   *
   * Concurrency and idempotency (same event ids) follow [DOCS-IDEMPOTENCE] and, where the docs
   * are silent or differ, the server's IndexWriter.CheckCommit [SRV-IndexWriter.cs]:
   * - an expected revision (no_stream = -1, or exact) [DOCS-IDEMPOTENCE "If you specify an
   *   expected version"]:
   *   - expected > current -> WrongExpectedVersion;
   *   - expected == current -> the events are appended;
   *   - expected < current -> the ids of the events stored after `expected` are compared with the
   *     ids of the append, in order: all already committed -> success, nothing written, and the
   *     result of the original write returned (revision of the last of those events, its position);
   *     none committed (the first differs) -> WrongExpectedVersion; some committed ->
   *     WrongExpectedVersion ("CorruptedIdempotency" in the source).
   * - any [DOCS-IDEMPOTENCE "If you specify ExpectedVersion.Any": "Idempotence is not guaranteed"]
   *   (and stream_exists, which the source treats the same way once the stream exists): the ids
   *   are looked up in the server's cache of recently committed event ids (bounded on the server,
   *   hence "in quick succession" in [DOCS-APPEND]; never evicted in the double). All committed in
   *   this stream -> success, nothing written, original result; the FIRST id not committed here
   *   -> the events are appended; the first committed but a later one not -> WrongExpectedVersion.
   *   NOTE: the docs say "Some of the events were previously committed ... surfaces as a
   *   WrongExpectedVersionException"; the source only rejects when the first id is committed, so
   *   [new, old] is written (old twice). The double follows the source.
   * - stream_exists on a stream that does not exist (nor its metadata stream) -> WrongExpectedVersion
   *   [DOCS-IDEMPOTENCE table: "the target stream or its metadata stream has been created"].
   * The cache is keyed by event id alone, so reusing an id in another stream replaces the entry,
   * as on the server ("It is possible to reuse an EventId across streams" [DOCS-IDEMPOTENCE]).
   */
  append(streamName: string, expected: Expected, proposed: ProposedEvent[]): AppendOutcome {
    const events = this.streams.get(streamName) ?? [];
    const current = BigInt(events.length) - 1n;
    const wrong: AppendOutcome = { kind: 'wrong_expected_version', currentRevision: current };

    if (expected.kind === 'stream_exists' && current < 0n) {
      // "The stream should exist. If it or a metadata stream does not exist, treats that as a
      // concurrency problem." [SRV-IndexWriter.cs: metadata stream check]
      if (this.lastRevision(`$$${streamName}`) < 0n) return wrong;
    }

    if (expected.kind === 'any' || expected.kind === 'stream_exists') {
      let first: StoredEvent | undefined;
      let last: StoredEvent | undefined;
      for (const [index, event] of proposed.entries()) {
        const committed = this.committedIds.get(event.id);
        if (!committed || committed.streamName !== streamName) {
          if (index === 0) return this.write(streamName, events, proposed);
          return wrong; // CorruptedIdempotency
        }
        first ??= committed;
        last = committed;
      }
      if (!first || !last) return this.write(streamName, events, proposed); // no events
      return { kind: 'success', currentRevision: last.revision, position: last.position };
    }

    const expectedRevision = expected.kind === 'no_stream' ? -1n : expected.revision;
    if (expectedRevision < current) {
      let eventNumber = expectedRevision;
      let last: StoredEvent | undefined;
      for (const event of proposed) {
        eventNumber += 1n;
        const stored = eventNumber <= current ? events[Number(eventNumber)] : undefined;
        if (stored && stored.id === event.id) {
          last = stored;
          continue;
        }
        return wrong; // first differs: WrongExpectedVersion; a later one: CorruptedIdempotency
      }
      if (!last) return wrong; // no data in the transaction
      return { kind: 'success', currentRevision: last.revision, position: last.position };
    }
    if (expectedRevision > current) return wrong;
    return this.write(streamName, events, proposed);
  }

  private write(
    streamName: string,
    events: StoredEvent[],
    proposed: ProposedEvent[],
  ): AppendOutcome {
    if (proposed.length === 0) {
      return { kind: 'success', currentRevision: BigInt(events.length) - 1n, position: undefined };
    }
    if (!this.streams.has(streamName)) this.streams.set(streamName, events);
    let ticks = BigInt(Date.now()) * TICKS_PER_MS;
    if (ticks <= this.lastCreatedTicks) ticks = this.lastCreatedTicks + 1n;
    this.lastCreatedTicks = ticks;
    let last: StoredEvent | undefined;
    for (const event of proposed) {
      const stored: StoredEvent = {
        ...event,
        streamName,
        revision: BigInt(events.length),
        position: this.nextPosition,
        createdTicks: ticks,
      };
      // Positions are byte-offset-like (not dense), as in the transaction log: the next record
      // starts after this one.
      this.nextPosition += BigInt(
        64 +
          Buffer.byteLength(streamName) +
          Buffer.byteLength(event.type) +
          event.data.length +
          event.customMetadata.length,
      );
      events.push(stored);
      this.log.push(stored);
      this.committedIds.set(stored.id, stored);
      last = stored;
    }
    for (const listener of [...this.listeners]) listener();
    return { kind: 'success', currentRevision: last!.revision, position: last!.position };
  }
}

/* ------------------------------------------------------------------------------------------------
 * ServerFeatures
 * ---------------------------------------------------------------------------------------------- */

/**
 * Methods are advertised lower-cased, with the features the real server adds: "position",
 * "events" on Streams.Read and "deadline_duration" on Streams.BatchAppend [SRV-ServerFeatures.cs].
 * The client only checks Streams.BatchAppend to choose between BatchAppend and Append
 * [CLIENT-streams/appendToStream/index.js].
 */
function supportedMethods(batchAppend: boolean): featuresPb.SupportedMethods {
  const methods: Array<[string, string, string[]]> = [
    ['event_store.client.streams.streams', 'read', ['position', 'events']],
    ['event_store.client.streams.streams', 'append', []],
    ['event_store.client.server_features.serverfeatures', 'getsupportedmethods', []],
  ];
  if (batchAppend) {
    methods.push(['event_store.client.streams.streams', 'batchappend', ['deadline_duration']]);
  }
  const result = new featuresPb.SupportedMethods();
  result.setEventStoreServerVersion(ESDB_WIRE_DOUBLE_SERVER_VERSION);
  result.setMethodsList(
    methods.map(([service, method, features]) => {
      const supported = new featuresPb.SupportedMethod();
      supported.setServiceName(service);
      supported.setMethodName(method);
      supported.setFeaturesList(features);
      return supported;
    }),
  );
  return result;
}

/* ------------------------------------------------------------------------------------------------
 * Append (client streaming) [SRV-Streams.Append.cs]
 * ---------------------------------------------------------------------------------------------- */

const EXCEPTION_KEY = 'exception';

/** A gRPC error with the trailers EventStoreDB sets [SRV-RpcExceptions.cs]. */
function rpcError(
  code: grpc.status,
  details: string,
  trailers: Record<string, string> = {},
): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return { code, details, metadata };
}

function maxAppendSizeExceeded(maxAppendSize: number): Partial<grpc.StatusObject> {
  return rpcError(
    grpc.status.INVALID_ARGUMENT,
    `Maximum Append Size of ${maxAppendSize} Exceeded.`,
    {
      [EXCEPTION_KEY]: 'maximum-append-size-exceeded',
      'maximum-append-size': String(maxAppendSize),
    },
  );
}

function requiredMetadataMissing(property: string): Partial<grpc.StatusObject> {
  return rpcError(
    grpc.status.INVALID_ARGUMENT,
    `Required Metadata Property '${property}' is missing`,
    {
      [EXCEPTION_KEY]: 'missing-required-metadata-property',
      'required-metadata-properties': 'type,content-type',
    },
  );
}

function handleAppend(
  store: EsdbDoubleStore,
  maxAppendSize: number,
  call: grpc.ServerReadableStream<streamsPb.AppendReq, streamsPb.AppendResp>,
  callback: grpc.sendUnaryData<streamsPb.AppendResp>,
): void {
  let header: streamsPb.AppendReq.Options | undefined;
  const proposed: ProposedEvent[] = [];
  let size = 0;
  let done = false;
  const fail = (error: Partial<grpc.StatusObject>): void => {
    if (done) return;
    done = true;
    callback(error);
  };

  call.on('data', (req: streamsPb.AppendReq) => {
    if (done) return;
    // The first message carries the options, every following one a proposed message.
    if (!header) {
      if (!req.hasOptions()) {
        fail(rpcError(grpc.status.INVALID_ARGUMENT, 'The first AppendReq must carry options'));
        return;
      }
      header = req.getOptions();
      return;
    }
    const message = req.getProposedMessage();
    if (!message) {
      fail(rpcError(grpc.status.INVALID_ARGUMENT, 'Expected a proposed message'));
      return;
    }
    const event = toProposedEvent(message);
    if (typeof event === 'string') {
      fail(requiredMetadataMissing(event));
      return;
    }
    size += eventSize(event);
    if (size > maxAppendSize) {
      fail(maxAppendSizeExceeded(maxAppendSize));
      return;
    }
    proposed.push(event);
  });
  call.on('error', () => {
    done = true;
  });
  call.on('end', () => {
    if (done) return;
    if (!header) {
      fail(rpcError(grpc.status.INVALID_ARGUMENT, 'AppendReq options missing'));
      return;
    }
    const streamName = streamNameOf(header.getStreamIdentifier());
    const expected = expectedOfAppend(header);
    const outcome = store.append(streamName, expected, proposed);
    const resp = new streamsPb.AppendResp();
    if (outcome.kind === 'success') {
      const success = new streamsPb.AppendResp.Success();
      if (outcome.currentRevision < 0n) success.setNoStream(new sharedPb.Empty());
      else success.setCurrentRevision(outcome.currentRevision.toString());
      if (outcome.position === undefined) success.setNoPosition(new sharedPb.Empty());
      else {
        const position = new streamsPb.AppendResp.Position();
        position.setCommitPosition(outcome.position.toString());
        position.setPreparePosition(outcome.position.toString());
        success.setPosition(position);
      }
      resp.setSuccess(success);
    } else {
      // WrongExpectedVersion is a normal response (not a gRPC error), with both the current
      // fields and the deprecated 20.6.0 ones, as Streams.Append.cs fills them [SRV-Streams.Append.cs].
      const wev = new streamsPb.AppendResp.WrongExpectedVersion();
      switch (expected.kind) {
        case 'any':
          wev.setExpectedAny(new GoogleEmpty());
          wev.setAny2060(new GoogleEmpty());
          break;
        case 'stream_exists':
          wev.setExpectedStreamExists(new GoogleEmpty());
          wev.setStreamExists2060(new GoogleEmpty());
          break;
        case 'no_stream':
          wev.setExpectedNoStream(new GoogleEmpty());
          // The server also sets expected_revision_20_6_0 = ulong.MaxValue here. That uint64 field
          // is generated as a JS number, which cannot carry 2^64-1, so the double leaves it unset.
          break;
        case 'revision':
          wev.setExpectedRevision(expected.revision.toString());
          wev.setExpectedRevision2060(Number(expected.revision));
          break;
      }
      if (outcome.currentRevision < 0n) {
        wev.setCurrentNoStream(new GoogleEmpty());
        wev.setNoStream2060(new GoogleEmpty());
      } else {
        wev.setCurrentRevision(outcome.currentRevision.toString());
        wev.setCurrentRevision2060(Number(outcome.currentRevision));
      }
      resp.setWrongExpectedVersion(wev);
    }
    done = true;
    callback(null, resp);
  });
}

function expectedOfAppend(options: streamsPb.AppendReq.Options): Expected {
  const Case = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;
  switch (options.getExpectedStreamRevisionCase()) {
    case Case.REVISION:
      return { kind: 'revision', revision: BigInt(options.getRevision()) };
    case Case.NO_STREAM:
      return { kind: 'no_stream' };
    case Case.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    default:
      return { kind: 'any' };
  }
}

/* ------------------------------------------------------------------------------------------------
 * BatchAppend (duplex) [SRV-Streams.BatchAppend.cs]
 * ---------------------------------------------------------------------------------------------- */

function handleBatchAppend(
  store: EsdbDoubleStore,
  maxAppendSize: number,
  call: grpc.ServerDuplexStream<streamsPb.BatchAppendReq, streamsPb.BatchAppendResp>,
): void {
  // Requests are grouped by correlation id: the first chunk carries the options, the chunk with
  // is_final = true triggers the write; one response per correlation id.
  const pending = new Map<
    string,
    { options: streamsPb.BatchAppendReq.Options; events: ProposedEvent[]; size: number }
  >();
  let closed = false;
  const send = (resp: streamsPb.BatchAppendResp): void => {
    if (!closed) call.write(resp);
  };

  call.on('data', (req: streamsPb.BatchAppendReq) => {
    const correlation = req.getCorrelationId();
    const correlationKey = correlation ? uuidToString(correlation) : '';
    const reqOptions = req.getOptions();
    if (reqOptions) pending.set(correlationKey, { options: reqOptions, events: [], size: 0 });
    const entry = pending.get(correlationKey);
    if (!entry) return;
    const streamIdentifier = entry.options.getStreamIdentifier();
    const errorResp = (status: statusPb.Status): streamsPb.BatchAppendResp => {
      const resp = new streamsPb.BatchAppendResp();
      if (correlation) resp.setCorrelationId(correlation);
      if (streamIdentifier) resp.setStreamIdentifier(streamIdentifier);
      resp.setError(status);
      return resp;
    };
    for (const message of req.getProposedMessagesList()) {
      const event = toProposedEvent(message);
      if (typeof event === 'string') {
        // The server's indexer throws KeyNotFound, answered as BadRequest [SRV-Streams.BatchAppend.cs].
        pending.delete(correlationKey);
        send(errorResp(statusBadRequest(`Required metadata property '${event}' is missing`)));
        return;
      }
      entry.events.push(event);
      entry.size += eventSize(event);
    }
    if (entry.size > maxAppendSize) {
      pending.delete(correlationKey);
      send(errorResp(statusMaximumAppendSizeExceeded(maxAppendSize)));
      return;
    }
    if (!req.getIsFinal()) return;
    pending.delete(correlationKey);

    const expected = expectedOfBatch(entry.options);
    const outcome = store.append(streamNameOf(streamIdentifier), expected, entry.events);
    if (outcome.kind === 'wrong_expected_version') {
      send(errorResp(statusWrongExpectedVersion(outcome.currentRevision, expected)));
      return;
    }
    // BatchAppendResp.Types.Success.Completed [SRV-BatchAppendResp.cs]
    const success = new streamsPb.BatchAppendResp.Success();
    if (outcome.currentRevision < 0n) success.setNoStream(new GoogleEmpty());
    else success.setCurrentRevision(outcome.currentRevision.toString());
    if (outcome.position === undefined) success.setNoPosition(new GoogleEmpty());
    else {
      const position = new sharedPb.AllStreamPosition();
      position.setCommitPosition(outcome.position.toString());
      position.setPreparePosition(outcome.position.toString());
      success.setPosition(position);
    }
    const resp = new streamsPb.BatchAppendResp();
    if (correlation) resp.setCorrelationId(correlation);
    if (streamIdentifier) resp.setStreamIdentifier(streamIdentifier);
    resp.setSuccess(success);
    send(resp);
  });
  // The client half-closes when it is done; the server then completes the call.
  call.on('end', () => {
    if (closed) return;
    closed = true;
    call.end();
  });
  call.on('error', () => {
    closed = true;
  });
  call.on('cancelled', () => {
    closed = true;
  });
}

function expectedOfBatch(options: streamsPb.BatchAppendReq.Options): Expected {
  const Case = streamsPb.BatchAppendReq.Options.ExpectedStreamPositionCase;
  switch (options.getExpectedStreamPositionCase()) {
    case Case.STREAM_POSITION:
      return { kind: 'revision', revision: BigInt(options.getStreamPosition()) };
    case Case.NO_STREAM:
      return { kind: 'no_stream' };
    case Case.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    default:
      return { kind: 'any' };
  }
}

/** google.rpc.Status with an Any detail, as Status.cs builds them [SRV-Status.cs]. */
function status(
  code: number,
  message: string,
  detail: { serializeBinary(): Uint8Array },
  typeName: string,
): statusPb.Status {
  const any = new Any();
  any.pack(detail.serializeBinary(), typeName);
  const result = new statusPb.Status();
  result.setCode(code);
  result.setMessage(message);
  result.setDetails(any);
  return result;
}

/** Status.WrongExpectedVersion + WrongExpectedVersion.Create [SRV-Status.cs, WrongExpectedVersion.cs]. */
function statusWrongExpectedVersion(current: bigint, expected: Expected): statusPb.Status {
  const detail = new sharedPb.WrongExpectedVersion();
  if (current < 0n) detail.setCurrentNoStream(new GoogleEmpty());
  else detail.setCurrentStreamRevision(current.toString());
  switch (expected.kind) {
    case 'any':
      detail.setExpectedAny(new GoogleEmpty());
      break;
    case 'no_stream':
      detail.setExpectedNoStream(new GoogleEmpty());
      break;
    case 'stream_exists':
      detail.setExpectedStreamExists(new GoogleEmpty());
      break;
    case 'revision':
      detail.setExpectedStreamPosition(expected.revision.toString());
      break;
  }
  return status(
    6 /* ALREADY_EXISTS */,
    'WrongExpectedVersion',
    detail,
    'event_store.client.WrongExpectedVersion',
  );
}

function statusMaximumAppendSizeExceeded(maxAppendSize: number): statusPb.Status {
  const detail = new sharedPb.MaximumAppendSizeExceeded();
  detail.setMaxappendsize(maxAppendSize);
  return status(
    3 /* INVALID_ARGUMENT */,
    'MaximumAppendSizeExceeded',
    detail,
    'event_store.client.MaximumAppendSizeExceeded',
  );
}

function statusBadRequest(message: string): statusPb.Status {
  const detail = new sharedPb.BadRequest();
  detail.setMessage(message);
  return status(3 /* INVALID_ARGUMENT */, 'BadRequest', detail, 'event_store.client.BadRequest');
}

/* ------------------------------------------------------------------------------------------------
 * Read: stream / $all reads and subscriptions [SRV-Streams.Read.cs]
 * ---------------------------------------------------------------------------------------------- */

type ReadCall = grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>;
type UuidOption = 'string' | 'structured';
type EventFilter = (event: StoredEvent) => boolean;

function handleRead(store: EsdbDoubleStore, call: ReadCall, log: (line: string) => void): void {
  const options = call.request.getOptions();
  if (!options) {
    call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'ReadReq options missing' });
    return;
  }
  const uuidOption: UuidOption = options.getUuidOption()?.hasStructured() ? 'structured' : 'string';
  const backwards =
    options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
  const Counts = streamsPb.ReadReq.Options.CountOptionCase;
  const isSubscription = options.getCountOptionCase() === Counts.SUBSCRIPTION;
  const filterOptions = options.getFilter();
  let filter: EventFilter | undefined;
  try {
    filter = filterOptions ? toEventFilter(filterOptions) : undefined;
  } catch (error) {
    call.emit('error', {
      code: grpc.status.INVALID_ARGUMENT,
      details: `Invalid filter: ${(error as Error).message}`,
    });
    return;
  }

  const streamOptions = options.getStream();
  const allOptions = options.getAll();
  if (isSubscription) {
    if (backwards) {
      // [SRV-Streams.Read.cs]: only forwards subscriptions exist (InvalidOperationException).
      call.emit('error', {
        code: grpc.status.INVALID_ARGUMENT,
        details: 'Subscriptions read forwards',
      });
      return;
    }
    if (streamOptions) {
      subscribeToStream(store, call, streamOptions, uuidOption, log);
      return;
    }
    if (allOptions) {
      subscribeToAll(store, call, allOptions, filter, filterOptions, uuidOption, log);
      return;
    }
  } else {
    const count = BigInt(options.getCount() || '0');
    if (streamOptions) {
      readStream(store, call, streamOptions, backwards, count, uuidOption);
      return;
    }
    if (allOptions) {
      readAll(store, call, allOptions, backwards, count, filter, uuidOption);
      return;
    }
  }
  call.emit('error', {
    code: grpc.status.INVALID_ARGUMENT,
    details: 'Unsupported ReadReq options',
  });
}

/**
 * Reading a stream [DOCS-READ "Reading from a stream"]: forwards from Start or from a revision
 * (inclusive), backwards from End or from a revision (inclusive), at most maxCount events.
 * A stream that does not exist answers with a StreamNotFound message (not a gRPC error)
 * [SRV-Streams.Read.cs HandleFailure], which the client turns into StreamNotFoundError
 * [CLIENT-streams/utils/ReadStream.js].
 */
function readStream(
  store: EsdbDoubleStore,
  call: ReadCall,
  options: streamsPb.ReadReq.Options.StreamOptions,
  backwards: boolean,
  count: bigint,
  uuidOption: UuidOption,
): void {
  const identifier = options.getStreamIdentifier();
  const streamName = streamNameOf(identifier);
  const events = store.streams.get(streamName);
  if (!events || events.length === 0) {
    const notFound = new streamsPb.ReadResp.StreamNotFound();
    notFound.setStreamIdentifier(identifier ?? streamIdentifierOf(streamName));
    const resp = new streamsPb.ReadResp();
    resp.setStreamNotFound(notFound);
    call.write(resp);
    call.end();
    return;
  }
  const Case = streamsPb.ReadReq.Options.StreamOptions.RevisionOptionCase;
  const last = BigInt(events.length - 1);
  const selected: StoredEvent[] = [];
  const limit = count;
  switch (options.getRevisionOptionCase()) {
    case Case.START:
      // Backwards from Start reads revision 0 only.
      pushRange(selected, events, 0n, backwards ? -1n : 1n, last, limit);
      break;
    case Case.END:
      if (backwards) pushRange(selected, events, last, -1n, last, limit);
      // forwards from End: nothing to read.
      break;
    default: {
      const from = BigInt(options.getRevision() || '0');
      if (backwards) pushRange(selected, events, from > last ? last : from, -1n, last, limit);
      else pushRange(selected, events, from, 1n, last, limit);
    }
  }
  writeAllAndEnd(
    call,
    selected.map((event) => readEventResp(event, uuidOption)),
  );
}

function pushRange(
  out: StoredEvent[],
  events: StoredEvent[],
  from: bigint,
  step: 1n | -1n,
  last: bigint,
  limit: bigint,
): void {
  for (let i = from; i >= 0n && i <= last && BigInt(out.length) < limit; i += step) {
    const event = events[Number(i)];
    if (event) out.push(event);
  }
}

/**
 * Reading $all [DOCS-READ "Reading from the $all stream"]: the global log in append order.
 * Forwards from Start or from a position (inclusive: the event at that position comes first, as
 * the client's own readAll test expects), backwards from End or from a position (exclusive: the
 * events before it) [SRV-Enumerators.ReadAllBackwards.cs / TF semantics]. The server-side filter
 * of the ReadReq is applied when present (the 6.2.1 Node client never sends one for readAll; it
 * always sends no_filter [CLIENT-streams/readAll.js]); maxCount counts events returned.
 */
function readAll(
  store: EsdbDoubleStore,
  call: ReadCall,
  options: streamsPb.ReadReq.Options.AllOptions,
  backwards: boolean,
  count: bigint,
  filter: EventFilter | undefined,
  uuidOption: UuidOption,
): void {
  const Case = streamsPb.ReadReq.Options.AllOptions.AllOptionCase;
  const log = store.log;
  let index: number;
  switch (options.getAllOptionCase()) {
    case Case.START:
      index = backwards ? -1 : 0;
      break;
    case Case.END:
      index = backwards ? log.length - 1 : log.length;
      break;
    default: {
      const position = options.getPosition();
      const commit = BigInt(position?.getCommitPosition() || '0');
      const prepare = BigInt(position?.getPreparePosition() || '0');
      const firstAtOrAfter = firstIndexAtOrAfter(log, commit, prepare);
      index = backwards ? firstAtOrAfter - 1 : firstAtOrAfter;
    }
  }
  const selected: StoredEvent[] = [];
  for (
    let i = index;
    i >= 0 && i < log.length && BigInt(selected.length) < count;
    i += backwards ? -1 : 1
  ) {
    const event = log[i];
    if (event && (!filter || filter(event))) selected.push(event);
  }
  writeAllAndEnd(
    call,
    selected.map((event) => readEventResp(event, uuidOption)),
  );
}

/** Index of the first event whose (commit, prepare) position is >= the given one. */
function firstIndexAtOrAfter(log: StoredEvent[], commit: bigint, prepare: bigint): number {
  let low = 0;
  let high = log.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    const event = log[mid]!;
    const before =
      event.position < commit || (event.position === commit && event.position < prepare);
    if (before) low = mid + 1;
    else high = mid;
  }
  return low;
}

function writeAllAndEnd(call: ReadCall, responses: streamsPb.ReadResp[]): void {
  let i = 0;
  let ended = false;
  call.on('cancelled', () => {
    ended = true;
  });
  const pump = (): void => {
    while (!ended && i < responses.length) {
      const ok = call.write(responses[i++]!);
      if (!ok) {
        call.once('drain', pump);
        return;
      }
    }
    if (!ended) {
      ended = true;
      call.end();
    }
  };
  pump();
}

/**
 * A catch-up subscription [DOCS-SUBS]: confirmation first [SRV-Streams.Read.cs], then every event
 * after the starting point (positions are exclusive: "You will only receive the next event after
 * the subscribed position" [DOCS-SUBS "Subscribing from a specific position"]), then live events.
 * The double reads catch-up and live events from the same append-only log through one cursor,
 * so there is no gap and no duplicate at the switch-over. After the last historical event it
 * sends CaughtUp once, as EventStoreDB 23.10+ does [SRV-Enumerators.*Subscription.cs; the
 * client's subscribeToAll test expects one caughtUp for servers >= 23.10].
 */
class SubscriptionPump {
  private ended = false;
  private waitingForDrain = false;
  private caughtUpSent = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: EsdbDoubleStore,
    private readonly call: ReadCall,
    private readonly label: string,
    /** Returns the next response for the cursor, or undefined when caught up. */
    private readonly next: () =>
      | { resp?: streamsPb.ReadResp; extra?: streamsPb.ReadResp }
      | undefined,
    private readonly log: (line: string) => void,
  ) {
    this.unsubscribe = store.onAppended(() => this.pump());
    const stop = (): void => this.stop();
    call.on('cancelled', stop);
    call.on('error', stop);
    call.on('close', stop);
    const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation();
    confirmation.setSubscriptionId(randomUUID());
    const resp = new streamsPb.ReadResp();
    resp.setConfirmation(confirmation);
    this.write(resp);
    log(`subscription ${label} confirmed`);
    this.pump();
  }

  private stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe();
    this.log(`subscription ${this.label} ended`);
  }

  private write(resp: streamsPb.ReadResp): void {
    if (this.ended) return;
    if (!this.call.write(resp)) {
      this.waitingForDrain = true;
      this.call.once('drain', () => {
        this.waitingForDrain = false;
        this.pump();
      });
    }
  }

  pump(): void {
    while (!this.ended && !this.waitingForDrain) {
      const item = this.next();
      if (!item) {
        if (!this.caughtUpSent) {
          this.caughtUpSent = true;
          const resp = new streamsPb.ReadResp();
          resp.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
          this.write(resp);
        }
        return;
      }
      if (item.resp) this.write(item.resp);
      if (item.extra) this.write(item.extra);
    }
  }
}

function subscribeToStream(
  store: EsdbDoubleStore,
  call: ReadCall,
  options: streamsPb.ReadReq.Options.StreamOptions,
  uuidOption: UuidOption,
  log: (line: string) => void,
): void {
  const streamName = streamNameOf(options.getStreamIdentifier());
  const Case = streamsPb.ReadReq.Options.StreamOptions.RevisionOptionCase;
  // Start: from revision 0; a revision r: from r + 1 (exclusive) [DOCS-SUBS: "subscribes to the
  // stream some-stream at position 20. This means that events 21 and onward will be handled"];
  // End: live only [DOCS-SUBS "Subscribing to a stream for live updates"]. A stream that does not
  // exist yet is waited for (no StreamNotFound) [SRV-Enumerators.StreamSubscription.cs].
  let cursor: number;
  switch (options.getRevisionOptionCase()) {
    case Case.START:
      cursor = 0;
      break;
    case Case.END:
      cursor = store.streams.get(streamName)?.length ?? 0;
      break;
    default:
      cursor = Number(BigInt(options.getRevision() || '0') + 1n);
  }
  new SubscriptionPump(
    store,
    call,
    `to stream "${streamName}"`,
    () => {
      const event = store.streams.get(streamName)?.[cursor];
      if (!event) return undefined;
      cursor += 1;
      return { resp: readEventResp(event, uuidOption) };
    },
    log,
  );
}

function subscribeToAll(
  store: EsdbDoubleStore,
  call: ReadCall,
  options: streamsPb.ReadReq.Options.AllOptions,
  filter: EventFilter | undefined,
  filterOptions: streamsPb.ReadReq.Options.FilterOptions | undefined,
  uuidOption: UuidOption,
  log: (line: string) => void,
): void {
  const Case = streamsPb.ReadReq.Options.AllOptions.AllOptionCase;
  let cursor: number;
  switch (options.getAllOptionCase()) {
    case Case.START:
      cursor = 0;
      break;
    case Case.END:
      cursor = store.log.length;
      break;
    default: {
      // The server reads ONE event forwards from the given position and starts after it
      // (ReadAllEventsForward(position, 1).NextPos) [SRV-Enumerators.AllSubscription*.cs]: for a
      // legitimate position (that of an event) this is exactly "the next event after the
      // subscribed position" [DOCS-SUBS]. The docs add "this position will need to be a
      // legitimate position in $all"; for any other position the server, and the double, skip
      // the first event at or after it.
      const position = options.getPosition();
      const commit = BigInt(position?.getCommitPosition() || '0');
      const prepare = BigInt(position?.getPreparePosition() || '0');
      cursor = Math.min(firstIndexAtOrAfter(store.log, commit, prepare) + 1, store.log.length);
    }
  }
  // Filtered subscriptions report a checkpoint every checkpointIntervalMultiplier x maxSearchWindow
  // (32 unless `max` is given) events considered, matching or not: "The checkpoint interval
  // parameter configures the database to notify the client after n * 32 number of events"
  // [DOCS-SUBS "Checkpointing"]; the checkpoint carries the position of the event that reached
  // the interval [SRV-SubscriptionsService.cs]. Unfiltered subscriptions send no checkpoints.
  const interval = filterOptions
    ? Math.max(1, filterOptions.getCheckpointintervalmultiplier()) *
      (filterOptions.hasMax() && filterOptions.getMax() > 0 ? filterOptions.getMax() : 32)
    : 0;
  let considered = 0;
  new SubscriptionPump(
    store,
    call,
    `to $all${filter ? ' (filtered)' : ''}`,
    () => {
      while (cursor < store.log.length) {
        const event = store.log[cursor]!;
        cursor += 1;
        const matches = !filter || filter(event);
        let checkpoint: streamsPb.ReadResp | undefined;
        if (interval > 0) {
          considered += 1;
          if (considered >= interval) {
            considered = 0;
            checkpoint = checkpointResp(event.position);
          }
        }
        if (matches || checkpoint) {
          return matches
            ? { resp: readEventResp(event, uuidOption), extra: checkpoint }
            : { resp: checkpoint };
        }
      }
      return undefined;
    },
    log,
  );
}

function checkpointResp(position: bigint): streamsPb.ReadResp {
  const checkpoint = new streamsPb.ReadResp.Checkpoint();
  checkpoint.setCommitPosition(position.toString());
  checkpoint.setPreparePosition(position.toString());
  const resp = new streamsPb.ReadResp();
  resp.setCheckpoint(checkpoint);
  return resp;
}

/**
 * Server-side filter [DOCS-SUBS "Server-side filtering"]: by event type or by stream name, with a
 * list of prefixes (any prefix matches) or a regular expression (a regex takes precedence when
 * both are given) [SRV-Streams.Read.cs ConvertToEventFilter]. The server evaluates regexes with
 * .NET's Regex.IsMatch (unanchored); the double uses JavaScript's RegExp.test (unanchored), which
 * agrees on the common syntax only.
 */
function toEventFilter(options: streamsPb.ReadReq.Options.FilterOptions): EventFilter {
  const byType = options.getEventType();
  const byStream = options.getStreamIdentifier();
  const expression = byType ?? byStream;
  if (!expression) throw new Error('filter has neither event_type nor stream_identifier');
  const field = (event: StoredEvent): string => (byType ? event.type : event.streamName);
  const regex = expression.getRegex();
  if (regex) {
    const compiled = new RegExp(regex);
    return (event) => compiled.test(field(event));
  }
  const prefixes = expression.getPrefixList();
  return (event) => prefixes.some((prefix) => field(event).startsWith(prefix));
}

/**
 * A recorded event as the server sends it [SRV-Streams.Read.cs ConvertToRecordedEvent]: metadata
 * map with "type", "created" (ticks since the Unix epoch) and "content-type"
 * (application/json or application/octet-stream), data and custom metadata bytes unchanged,
 * commit and prepare positions, and the read event's commit_position.
 */
function readEventResp(event: StoredEvent, uuidOption: UuidOption): streamsPb.ReadResp {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent();
  recorded.setId(uuidMessage(event.id, uuidOption));
  recorded.setStreamIdentifier(streamIdentifierOf(event.streamName));
  recorded.setStreamRevision(event.revision.toString());
  recorded.setCommitPosition(event.position.toString());
  recorded.setPreparePosition(event.position.toString());
  const metadata = recorded.getMetadataMap();
  metadata.set('type', event.type);
  metadata.set('created', event.createdTicks.toString());
  metadata.set('content-type', event.contentType);
  recorded.setData(event.data);
  recorded.setCustomMetadata(event.customMetadata);
  const readEvent = new streamsPb.ReadResp.ReadEvent();
  readEvent.setEvent(recorded);
  readEvent.setCommitPosition(event.position.toString());
  const resp = new streamsPb.ReadResp();
  resp.setEvent(readEvent);
  return resp;
}

/* ------------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------------- */

/**
 * A proposed message, or the name of the missing required metadata property. The server requires
 * "type" and "content-type" and stores the event as JSON when content-type is application/json
 * [SRV-Streams.Append.cs]; it sends back application/json or application/octet-stream.
 */
function toProposedEvent(
  message: streamsPb.AppendReq.ProposedMessage | streamsPb.BatchAppendReq.ProposedMessage,
): ProposedEvent | string {
  const metadata = message.getMetadataMap();
  const type = metadata.get('type');
  if (type === undefined) return 'type';
  const contentType = metadata.get('content-type');
  if (contentType === undefined) return 'content-type';
  const id = message.getId();
  return {
    id: id ? uuidToString(id) : randomUUID(),
    type,
    contentType:
      contentType === 'application/json' ? 'application/json' : 'application/octet-stream',
    data: Uint8Array.from(message.getData_asU8()),
    customMetadata: Uint8Array.from(message.getCustomMetadata_asU8()),
  };
}

function eventSize(event: ProposedEvent): number {
  return event.data.length + event.customMetadata.length + Buffer.byteLength(event.type);
}

function streamNameOf(identifier: sharedPb.StreamIdentifier | undefined): string {
  return identifier ? Buffer.from(identifier.getStreamName_asU8()).toString('utf8') : '';
}

function streamIdentifierOf(streamName: string): sharedPb.StreamIdentifier {
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Uint8Array.from(Buffer.from(streamName, 'utf8')));
  return identifier;
}

/** UUIDs travel as strings or as two signed 64-bit halves ("structured") [shared.proto]. */
function uuidToString(uuid: sharedPb.UUID): string {
  const structured = uuid.getStructured();
  if (!structured) return uuid.getString().toLowerCase();
  const bytes = Buffer.alloc(16);
  bytes.writeBigInt64BE(BigInt(structured.getMostSignificantBits() || '0'), 0);
  bytes.writeBigInt64BE(BigInt(structured.getLeastSignificantBits() || '0'), 8);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function uuidMessage(id: string, option: UuidOption): sharedPb.UUID {
  const uuid = new sharedPb.UUID();
  if (option === 'string') {
    uuid.setString(id);
    return uuid;
  }
  const bytes = Buffer.from(id.replace(/-/g, ''), 'hex');
  const structured = new sharedPb.UUID.Structured();
  structured.setMostSignificantBits(bytes.readBigInt64BE(0).toString());
  structured.setLeastSignificantBits(bytes.readBigInt64BE(8).toString());
  uuid.setStructured(structured);
  return uuid;
}
