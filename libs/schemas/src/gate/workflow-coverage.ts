import { FRAMEWORK_NAMESPACE, FRAMEWORK_RECORD_TYPES, WorkflowDefinition } from '@esflow/core';
import { GateFailure, GateRule } from './gate-failure';
import { WorkingSchema } from './working-tree';

/** Why a workflow needs a schema: the event's role in it. */
export interface SchemaNeed {
  readonly workflow: string;
  readonly type: string;
  readonly role: string;
  /** Where the .avsc would go. */
  readonly place: string;
}

/** The records the outputs of a workflow's invoked commands follow (`invokes[src].output`). */
function invokeOutputs(workflow: WorkflowDefinition): string[] {
  return Object.values(workflow.invokes ?? {}).flatMap(({ output }) =>
    output === undefined ? [] : [output],
  );
}

/**
 * Every event type the workflows accept or record, by the full name its schema must have, with
 * why each workflow needs it.
 */
export function requiredSchemas(
  workflows: readonly WorkflowDefinition[],
): ReadonlyMap<string, readonly SchemaNeed[]> {
  const needs = new Map<string, SchemaNeed[]>();
  const need = (fullName: string, item: SchemaNeed) =>
    needs.set(fullName, [...(needs.get(fullName) ?? []), item]);
  for (const workflow of workflows) {
    const own = (type: string, role: string) =>
      need(`${workflow.schemaNamespace}.${type}`, {
        workflow: workflow.name,
        type,
        role,
        place: `${type}.avsc to its schema directory`,
      });
    own(workflow.startEvent, 'its start event');
    for (const type of workflow.inputEvents) own(type, 'an event it accepts');
    for (const type of workflow.commands) own(type, 'a command it emits');
    for (const type of invokeOutputs(workflow)) own(type, 'the output of an actor it invokes');
    // The engine records these facts in every workflow's streams (and the message streams' own).
    for (const type of FRAMEWORK_RECORD_TYPES)
      need(`${FRAMEWORK_NAMESPACE}.${type}`, {
        workflow: workflow.name,
        type,
        role: 'a framework record esflow writes',
        place: `${type}.avsc to @esflow/core's schemas (is the package complete?)`,
      });
  }
  return needs;
}

/**
 * Machine/schema consistency, both ways: every event type a workflow accepts or records (start
 * event, input events, commands, invoked commands' outputs, framework facts) has a schema, and every schema is such an
 * event type, unless it is a named type used inside other schemas (like `OrderItem`).
 */
export function checkWorkflowCoverage(
  workflows: readonly WorkflowDefinition[],
  schemas: readonly WorkingSchema[],
  /** Names whose files exist but are invalid (reported already): not "without schema". */
  invalid: ReadonlySet<string> = new Set(),
): GateFailure[] {
  const failures: GateFailure[] = [];
  const needs = requiredSchemas(workflows);
  const bySubject = new Map(schemas.map((schema) => [schema.subject, schema]));
  for (const [fullName, reasons] of needs) {
    if (bySubject.has(fullName) || invalid.has(fullName)) continue;
    const first = reasons[0]!;
    const who = [...new Set(reasons.map((reason) => `${reason.workflow} (${reason.role})`))].join(
      ', ',
    );
    failures.push({
      rule: GateRule.EventWithoutSchema,
      subject: fullName,
      message: `${first.type} is used by ${who} but has no schema: add ${first.place}, defining the record ${fullName}`,
    });
  }
  const usedInside = new Set(schemas.flatMap((schema) => schema.nestedNames));
  for (const schema of schemas) {
    if (needs.has(schema.subject) || usedInside.has(schema.subject)) continue;
    const namespace = schema.subject.slice(0, schema.subject.lastIndexOf('.'));
    const owner = workflows.find((workflow) => workflow.schemaNamespace === namespace);
    const hint = owner
      ? `${owner.name} neither starts with it, accepts it nor emits it (its events: ${[
          owner.startEvent,
          ...owner.inputEvents,
          ...owner.commands,
          ...invokeOutputs(owner),
        ].join(', ')})`
      : `no workflow has the namespace ${namespace || '(none)'} (workflows: ${
          workflows
            .map((workflow) => `${workflow.name} → ${workflow.schemaNamespace}`)
            .join(', ') || 'none'
        })`;
    failures.push({
      rule: GateRule.SchemaWithoutWorkflow,
      subject: schema.subject,
      file: schema.file,
      message: `${schema.file}: ${schema.subject} is not an event of any workflow: ${hint}. Use it in a machine, use it inside another schema, or delete the file`,
    });
  }
  return failures;
}
