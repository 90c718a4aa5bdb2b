import { Controller, Get, Header, Inject, Param, Query, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import {
  EventStore,
  InstanceSummary,
  MessageIndex,
  PayloadCodec,
  readEsflowMetadata,
  ReadModelQueries,
  ReadModelStore,
  schemaNameOf,
  streamNameOf,
  WorkflowCatalog,
  WorkflowDefinition,
  WorkflowEngine,
} from '@esflow/core';
import {
  EsflowAccess,
  EVENT_STORE,
  MESSAGE_INDEX,
  PAYLOAD_CODEC,
  ProjectionStatuses,
  READ_MODEL_QUERIES,
  READ_MODEL_STORE,
  WORKFLOW_CATALOG,
  WORKFLOW_ENGINE,
} from '@esflow/nest';
import { SCRIPT, STYLESHEET } from './assets';
import { formFieldsOf } from './avro-form';
import {
  activeStateIds,
  layoutStateChart,
  renderStateChart,
  StateChartLayout,
} from './chart/state-chart';
import { html } from './html';
import { InstanceFilters, instancesPage } from './pages/instances-page';
import { instancePage } from './pages/instance-page';
import { page, stateText } from './pages/layout';
import {
  ProjectionStatusRow,
  projectionsPage,
  workflowPage,
  workflowsPage,
} from './pages/workflow-pages';

/** Events per timeline page: a 10,000-event instance opens as fast as a 10-event one. */
export const TIMELINE_PAGE_SIZE = 50;
const LIST_PAGE_SIZE = 50;
/** Most read-model rows one filtered list page looks through for the id-prefix and time filters. */
const LIST_SCAN_LIMIT = 5_000;
const ONE_YEAR_S = 365 * 24 * 3600;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/**
 * The debugger UI's pages, rendered on the server (readable without JavaScript): the instance
 * list, an instance, the workflows and one workflow, the projections; the two assets; and the
 * small JSON the instance page polls. Reads go through the same ports as the REST API; every
 * action the pages offer calls the REST API, so its validation and access rules apply.
 */
@ApiExcludeController()
@Controller('ui')
export class UiController {
  private readonly layouts = new Map<string, Promise<StateChartLayout>>();

  constructor(
    @Inject(WORKFLOW_ENGINE) private readonly engine: WorkflowEngine,
    @Inject(WORKFLOW_CATALOG) private readonly catalog: WorkflowCatalog,
    @Inject(READ_MODEL_QUERIES) private readonly readModel: ReadModelQueries,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PAYLOAD_CODEC) private readonly codec: PayloadCodec,
    @Inject(MESSAGE_INDEX) private readonly messages: MessageIndex,
    @Inject(READ_MODEL_STORE) private readonly readModelStore: ReadModelStore,
    private readonly projections: ProjectionStatuses,
  ) {}

  /** Public, so that a browser can set its credentials before it can read anything. */
  @Get('login')
  @EsflowAccess('public')
  login(@Res() response: Response): void {
    this.send(
      response,
      200,
      'Sign in',
      html`<h1>Sign in</h1>
        <p>
          With access control on, put an API key or a JWT in the field at the top right: the pages
          are then read with it (kept in a cookie for <code>/ui</code> only), and every action sends
          it to the REST API.
        </p>
        <p><a href="/ui" data-testid="to-instances">To the instances</a></p>`,
    );
  }

  @Get('assets/esflow.css')
  @EsflowAccess('public')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', `public, max-age=${ONE_YEAR_S}`)
  stylesheet(): string {
    return STYLESHEET;
  }

  @Get('assets/esflow.js')
  @EsflowAccess('public')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', `public, max-age=${ONE_YEAR_S}`)
  script(): string {
    return SCRIPT;
  }

  @Get()
  async instances(
    @Query() query: Record<string, unknown>,
    @Res() response: Response,
  ): Promise<void> {
    const filters: InstanceFilters = {
      ...(text(query['workflow']) ? { workflow: text(query['workflow'])! } : {}),
      ...(text(query['state']) ? { state: text(query['state'])! } : {}),
      ...(text(query['status']) ? { status: text(query['status'])! } : {}),
      ...(text(query['idPrefix']) ? { idPrefix: text(query['idPrefix'])! } : {}),
      ...(text(query['updatedSince']) ? { updatedSince: text(query['updatedSince'])! } : {}),
      ...(text(query['after']) ? { after: text(query['after'])! } : {}),
    };
    if (filters.workflow && !this.catalog.latest(filters.workflow))
      return this.notFound(response, `No workflow named ${filters.workflow}.`);
    const since = filters.updatedSince ? Date.parse(filters.updatedSince) : undefined;
    if (since !== undefined && Number.isNaN(since))
      return this.send(
        response,
        400,
        'Bad filter',
        html`<h1>Bad filter</h1>
          <p>updatedSince must be a date and time, got <code>${filters.updatedSince}</code>.</p>`,
      );
    const { items, next } = await this.filteredPage(filters, since);
    this.send(
      response,
      200,
      'Instances',
      instancesPage(this.catalog.names(), filters, items, next),
    );
  }

  /**
   * One page of the list. The read model filters by workflow, state and status; the id prefix
   * (read from where the prefix sorts, with a workflow) and the update time are applied here
   * over at most LIST_SCAN_LIMIT rows per page.
   */
  private async filteredPage(
    filters: InstanceFilters,
    since: number | undefined,
  ): Promise<{ items: InstanceSummary[]; next: string | null }> {
    const prefix = filters.idPrefix;
    let after =
      filters.after ??
      (prefix && filters.workflow ? `${filters.workflow}/${prefix.slice(0, -1)}` : undefined);
    const items: InstanceSummary[] = [];
    let scanned = 0;
    for (;;) {
      const page = await this.readModel.list({
        ...(filters.workflow ? { workflow: filters.workflow } : {}),
        ...(filters.state ? { state: filters.state } : {}),
        ...(filters.status ? { status: filters.status } : {}),
        ...(after ? { after } : {}),
        limit: 200,
      });
      for (const item of page.items) {
        scanned++;
        after = `${item.workflow}/${item.id}`;
        if (prefix && filters.workflow && !item.id.startsWith(prefix) && item.id > prefix)
          return { items, next: null };
        if (prefix && !item.id.startsWith(prefix)) continue;
        if (since !== undefined && Date.parse(item.updatedAt) < since) continue;
        items.push(item);
        if (items.length === LIST_PAGE_SIZE)
          return {
            items,
            next: page.next === null && item === page.items[page.items.length - 1] ? null : after!,
          };
      }
      if (page.next === null) return { items, next: null };
      if (scanned >= LIST_SCAN_LIMIT) return { items, next: after ?? null };
    }
  }

  @Get('workflows')
  async workflows(@Res() response: Response): Promise<void> {
    const counts = await this.readModel.stateCounts();
    const rows = this.catalog.names().map((name) => ({
      name,
      versions: this.catalog
        .all()
        .filter((d) => d.name === name)
        .map((d) => d.version)
        .sort((a, b) => a - b),
      total: counts.filter((c) => c.workflow === name).reduce((sum, c) => sum + c.count, 0),
    }));
    this.send(response, 200, 'Workflows', workflowsPage(rows));
  }

  @Get('projections')
  async projectionList(@Res() response: Response): Promise<void> {
    const rows = (await this.projections.list()) as unknown as ProjectionStatusRow[];
    // The projections are listed above from their records; the rest from the projectors' reports.
    const processors = (await this.readModelStore.processorReports()).flatMap((report) =>
      report.processors
        .filter((status) => status.kind !== 'projection')
        .map((status) => ({ owner: report.owner, reportedAt: report.reportedAt, status })),
    );
    this.send(response, 200, 'Projections', projectionsPage(rows, processors, new Date()));
  }

  @Get('workflows/:workflow')
  async workflow(@Param('workflow') name: string, @Res() response: Response): Promise<void> {
    const definition = this.catalog.latest(name);
    if (!definition) return this.notFound(response, `No workflow named ${name}.`);
    const counts = (await this.readModel.stateCounts()).filter((c) => c.workflow === name);
    const perNode = new Map<string, number>();
    for (const { state, count } of counts)
      for (const id of activeStateIds(definition.machine.id, state))
        perNode.set(id, (perNode.get(id) ?? 0) + count);
    const chart = renderStateChart(await this.layoutOf(definition), { counts: perNode });
    const versions = (await this.readModel.definitionVersions()).filter((v) => v.workflow === name);
    const registered = this.catalog
      .all()
      .filter((d) => d.name === name)
      .map((d) => d.version);
    const byState = counts.map((c) => ({ state: stateText(c.state), count: c.count }));
    this.send(response, 200, name, workflowPage(name, chart, byState, versions, registered));
  }

  @Get('workflows/:workflow/:id/live')
  async live(
    @Param('workflow') workflow: string,
    @Param('id') id: string,
    @Res() response: Response,
  ): Promise<void> {
    const [last] = this.catalog.latest(workflow)
      ? await this.store.readStream(streamNameOf(workflow, id), {
          direction: 'backwards',
          maxCount: 1,
        })
      : [];
    response.setHeader('Cache-Control', 'no-store');
    if (!last) response.status(404).json({ revision: null });
    else response.status(200).json({ revision: last.revision });
  }

  @Get('workflows/:workflow/:id')
  async instance(
    @Param('workflow') workflow: string,
    @Param('id') id: string,
    @Query('from') from: unknown,
    @Res() response: Response,
  ): Promise<void> {
    const found = await this.engine.queries.get(workflow, id);
    if (!found.ok) return this.notFound(response, found.rejection.message);
    const view = found.value;
    const fromRevision =
      typeof from === 'string' && /^\d{1,15}$/.test(from) ? Number(from) : undefined;
    const history = await this.engine.queries.historyPage(workflow, id, {
      maxCount: TIMELINE_PAGE_SIZE,
      ...(fromRevision === undefined ? {} : { fromRevision }),
    });
    if (!history.ok) return this.notFound(response, history.rejection.message);
    const { events, lastRevision } = history.value;
    const definition =
      this.catalog.version(workflow, view.version) ?? this.catalog.latest(workflow)!;
    const oldest = events[events.length - 1]?.revision ?? 0;
    const chart = renderStateChart(await this.layoutOf(definition), {
      current: new Set(
        view.status === 'running' ? activeStateIds(definition.machine.id, view.state) : [],
      ),
      visited: await this.visitedStates(definition, workflow, id),
    });
    const accepted = view.acceptedEvents
      .filter((type) => !type.startsWith('xstate.'))
      .map((type) => ({
        type,
        fields: formFieldsOf(this.codec.schemaOf?.(schemaNameOf(definition, type))),
      }));
    const messages = (await this.messages.list({ workflow, instanceId: id, limit: 50 })).messages;
    const body = instancePage({
      view,
      chart,
      events,
      lastRevision,
      olderFrom: oldest > 0 ? oldest - 1 : null,
      pageSize: TIMELINE_PAGE_SIZE,
      messages,
      accepted,
    });
    this.send(response, 200, `${workflow} ${id}`, body, {
      url: `/ui/workflows/${encodeURIComponent(workflow)}/${encodeURIComponent(id)}/live`,
      revision: lastRevision,
    });
  }

  /** Every state the instance has been in: read from its events' metadata, payloads not decoded. */
  private async visitedStates(
    definition: WorkflowDefinition,
    workflow: string,
    id: string,
  ): Promise<Set<string>> {
    const visited = new Set<string>();
    const seen = new Set<string>();
    for (const event of await this.store.readStream(streamNameOf(workflow, id))) {
      const state = readEsflowMetadata(event.metadata).stateAfter;
      const key = stateText(state);
      if (seen.has(key)) continue;
      seen.add(key);
      for (const stateId of activeStateIds(definition.machine.id, state)) visited.add(stateId);
    }
    return visited;
  }

  private layoutOf(definition: WorkflowDefinition): Promise<StateChartLayout> {
    const key = `${definition.name}@${definition.version}`;
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = layoutStateChart(definition.machine);
      this.layouts.set(key, layout);
    }
    return layout;
  }

  private notFound(response: Response, message: string): void {
    this.send(
      response,
      404,
      'Not found',
      html`<h1 data-testid="not-found">Not found</h1>
        <p>${message}</p>
        <p><a href="/ui">Back to the instances</a></p>`,
    );
  }

  private send(
    response: Response,
    status: number,
    title: string,
    body: ReturnType<typeof html>,
    live?: { url: string; revision: number },
  ): void {
    response
      .status(status)
      .setHeader('Content-Type', 'text/html; charset=utf-8')
      .setHeader('Cache-Control', 'no-store')
      .send(page({ title, ...(live ? { live } : {}) }, body));
  }
}
