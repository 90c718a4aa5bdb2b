import { html, SafeHtml } from './html';

/** One input of the send-event form, as an Avro record field maps to it. */
export interface FormField {
  readonly name: string;
  /** `text`, `number`, `integer`, `boolean`, `enum` or `json` (anything nested). */
  readonly input: 'text' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';
  readonly required: boolean;
  readonly symbols?: readonly string[];
  readonly doc?: string;
}

type AvroType = string | { type: unknown; [key: string]: unknown } | unknown[];

function inputOf(type: AvroType): Pick<FormField, 'input' | 'symbols'> {
  if (typeof type === 'string') {
    if (type === 'string') return { input: 'text' };
    if (type === 'int' || type === 'long') return { input: 'integer' };
    if (type === 'float' || type === 'double') return { input: 'number' };
    if (type === 'boolean') return { input: 'boolean' };
    return { input: 'json' };
  }
  if (Array.isArray(type)) return { input: 'json' };
  if (type.type === 'enum') return { input: 'enum', symbols: type['symbols'] as string[] };
  if (
    typeof type.type === 'string' &&
    type['logicalType'] === undefined &&
    ['string', 'int', 'long', 'float', 'double', 'boolean'].includes(type.type)
  )
    return inputOf(type.type);
  if (type['logicalType'] === 'uuid' || type.type === 'string') return { input: 'text' };
  return { input: 'json' };
}

/**
 * The form fields of an Avro record schema: strings, numbers, booleans and enums as inputs of
 * their own (a union with `null` as an optional one), anything nested as JSON text. The API
 * validates what is sent against the same schema, so the form needs no rules of its own.
 */
export function formFieldsOf(schema: unknown): FormField[] {
  const record = schema as {
    type?: string;
    fields?: { name: string; type: AvroType; doc?: string; default?: unknown }[];
  };
  if (record?.type !== 'record' || !Array.isArray(record.fields)) return [];
  return record.fields.map((field) => {
    let type = field.type;
    let nullable = false;
    if (Array.isArray(type) && type.includes('null') && type.length === 2) {
      nullable = true;
      type = type.find((branch) => branch !== 'null') as AvroType;
    }
    return {
      name: field.name,
      ...inputOf(type),
      required: !nullable && field.default === undefined,
      ...(field.doc ? { doc: field.doc } : {}),
    };
  });
}

/** The inputs of `fields`, each named `field:<name>` and marked with its kind for the script. */
export function renderFormFields(fields: readonly FormField[]): SafeHtml {
  return html`${fields.map((field) => {
    const label = html`<span>${field.name}${field.required ? ' *' : ''}</span>`;
    const common = { name: `field:${field.name}` };
    if (field.input === 'enum')
      return html`<label
        >${label}<select name="${common.name}" data-kind="enum">
          ${field.required ? '' : html`<option value="">(none)</option>`}${(
            field.symbols ?? []
          ).map((s) => html`<option>${s}</option>`)}
        </select></label
      >`;
    if (field.input === 'boolean')
      return html`<label
        >${label}<select name="${common.name}" data-kind="boolean">
          ${field.required ? '' : html`<option value="">(none)</option>`}
          <option>true</option>
          <option>false</option>
        </select></label
      >`;
    if (field.input === 'json')
      return html`<label
        >${label}<textarea
          name="${common.name}"
          data-kind="json"
          rows="3"
          placeholder="JSON"
        ></textarea>
      </label>`;
    return html`<label
      >${label}<input
        name="${common.name}"
        data-kind="${field.input}"
        ${field.input === 'text' ? '' : html`inputmode="decimal"`}
        ${field.required ? html`required` : ''}
        title="${field.doc ?? ''}"
    /></label>`;
  })}`;
}
