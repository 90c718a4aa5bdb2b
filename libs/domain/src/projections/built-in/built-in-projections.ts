import { FrameworkEvent } from '../../workflow/framework-events';
import { canonicalJson } from '../canonical-json';
import { ProjectionDefinition, ReadModelDocument } from '../projection';

/** A state value as one comparable string: the name, or canonical JSON for object states. */
export const stateKeyOf = (state: unknown): string =>
  typeof state === 'string' ? state : canonicalJson(state);

const workflowFilter = (workflows: readonly string[]) => ({
  streamNamePrefixes: workflows.map((name) => `${name}-`),
});

/** The instance list behind `GET /workflows`: one document per instance, keyed `workflow/id`. */
export function instancesProjection(workflows: readonly string[]): ProjectionDefinition {
  return {
    name: 'instances',
    version: 1,
    collections: { instances: { indexes: ['workflow', 'status', 'stateKey'] } },
    filter: workflowFilter(workflows),
    async handle({ recorded, metadata }, documents) {
      const document: ReadModelDocument = {
        workflow: metadata.workflow,
        id: metadata.instanceId,
        version: metadata.definitionVersion,
        state: metadata.stateAfter,
        stateKey: stateKeyOf(metadata.stateAfter),
        status: metadata.statusAfter,
        revision: recorded.revision,
        updatedAt: recorded.recordedAt.toISOString(),
      };
      await documents.put('instances', `${metadata.workflow}/${metadata.instanceId}`, document);
    },
  };
}

/**
 * Instances per workflow and state (`GET /stats`), moved as each transition is recorded. What
 * moves an instance is not only a client's event: a timer's `TimerFired` and an invoked command's
 * outcome do too, and the facts recorded with a transition carry its states again. So the
 * projection remembers each instance's counted state (`instance_states`) and moves the count
 * when an event's `stateAfter` differs from it, whatever the event: once per transition.
 */
export function stateCountsProjection(workflows: readonly string[]): ProjectionDefinition {
  return {
    name: 'workflow_stats',
    // 2: counts the transitions of timers and commands (1 counted clients' events only).
    version: 2,
    collections: { state_counts: { indexes: ['workflow'] }, instance_states: { indexes: [] } },
    filter: workflowFilter(workflows),
    async handle({ metadata }, documents) {
      const add = async (state: unknown, delta: number) => {
        const stateKey = stateKeyOf(state);
        const id = `${metadata.workflow}/${stateKey}`;
        const current = (await documents.get('state_counts', id))?.['count'];
        const count = (typeof current === 'number' ? current : 0) + delta;
        if (count <= 0) await documents.delete('state_counts', id);
        else
          await documents.put('state_counts', id, {
            workflow: metadata.workflow,
            state,
            stateKey,
            count,
          });
      };
      const instance = `${metadata.workflow}/${metadata.instanceId}`;
      const counted = await documents.get('instance_states', instance);
      const stateKey = stateKeyOf(metadata.stateAfter);
      if (counted?.['stateKey'] === stateKey) return;
      if (counted) await add(counted['state'], -1);
      await add(metadata.stateAfter, +1);
      await documents.put('instance_states', instance, { state: metadata.stateAfter, stateKey });
    },
  };
}

/**
 * Which definition versions are in use, per version: instances started on it or migrated to it
 * (`instances`), those of them still running on it (`running`), and those migrated away
 * (`migratedOut`; an `InstanceMigrated` moves one running instance from its source version to
 * its target).
 */
export function definitionVersionsProjection(workflows: readonly string[]): ProjectionDefinition {
  return {
    name: 'definition_versions',
    // 2: counts migrations (1 knew only starts and ends).
    version: 2,
    collections: { versions: { indexes: ['workflow'] } },
    filter: workflowFilter(workflows),
    async handle(event, documents) {
      const { recorded, metadata } = event;
      const move = async (
        version: number,
        change: { in?: number; out?: number; migrated?: number },
      ) => {
        const id = `${metadata.workflow}/${version}`;
        const current = (await documents.get('versions', id)) ?? {};
        const count = (field: string) =>
          typeof current[field] === 'number' ? (current[field] as number) : 0;
        await documents.put('versions', id, {
          workflow: metadata.workflow,
          version,
          instances: count('instances') + (change.in ?? 0),
          running: count('running') + (change.in ?? 0) - (change.out ?? 0),
          migratedOut: count('migratedOut') + (change.migrated ?? 0),
        });
      };
      if (recorded.revision === 0) return move(metadata.definitionVersion, { in: 1 });
      // An instance ends once: completed (a final state), or terminated by an operator.
      if (
        recorded.type === FrameworkEvent.WorkflowCompleted ||
        recorded.type === FrameworkEvent.InstanceTerminated
      )
        return move(metadata.definitionVersion, { out: 1 });
      if (recorded.type !== FrameworkEvent.InstanceMigrated) return;
      const { fromVersion } = (await event.payload()) as { fromVersion: number };
      await move(fromVersion, { out: 1, migrated: 1 });
      await move(metadata.definitionVersion, { in: 1 });
    },
  };
}

/** Names of the built-in projections: reserved, no registered projection may take one. */
export const BUILT_IN_PROJECTION_NAMES: readonly string[] = [
  'instances',
  'workflow_stats',
  'definition_versions',
];

/** The projections esflow runs out of the box, over the events of `workflows`. */
export function builtInProjections(workflows: readonly string[]): ProjectionDefinition[] {
  return [
    instancesProjection(workflows),
    stateCountsProjection(workflows),
    definitionVersionsProjection(workflows),
  ];
}
