import { createHash } from 'node:crypto';
import { zipSync, Zippable } from 'fflate';
import { ErrorCode, EsflowError } from '@esflow/core';
import { RegistryHttp } from './registry-http';
import { RegisteredSchema } from './schema-registry.port';

/**
 * How esflow puts schemas back under their own ids in Apicurio Registry. Its Confluent API
 * (ccompat) cannot: it has no IMPORT mode (`/mode` answers 404, `PUT /mode/{subject}` is accepted
 * and ignored) and ignores the `id` of a registration. Its own admin API can: `POST
 * /apis/registry/v3/admin/import?requireEmptyRegistry=false` reads an export archive and keeps
 * the archive's content ids — the ids the ccompat API hands out — and moves its id sequences past
 * them. Entries that clash with what the registry holds (a content id or an artifact already
 * there) are skipped without an error, so the caller checks each id afterwards.
 */

/** Apicurio's server root when `url` is its ccompat API (`…/apis/ccompat/v7` → `…`). */
export function apicurioRoot(url: string): string | undefined {
  const match = /^(.*)\/apis\/ccompat\/v\d+\/?$/.exec(new URL(url).toString());
  return match?.[1];
}

/** Whether the server at `root` is Apicurio Registry 3 (its system info says so). */
async function isApicurio3(http: RegistryHttp, root: string): Promise<boolean> {
  const answer = await http.send('GET', `${root}/apis/registry/v3/system/info`);
  if (answer.status !== 200) return false;
  try {
    const info = JSON.parse(answer.text) as { name?: unknown };
    return typeof info.name === 'string' && info.name.includes('Apicurio');
  } catch {
    return false;
  }
}

const json = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value), 'utf8');

/** The export archive (Apicurio's export format 3.0) that holds `schemas` under their ids. */
export function apicurioArchive(schemas: readonly RegisteredSchema[], now: Date): Uint8Array {
  const at = now.getTime();
  // File name → bytes, in the order they are written (the manifest first).
  const files: Zippable = {
    'manifest-esflow.Manifest.json': json({
      systemVersion: '3.0.9',
      systemName: 'esflow',
      systemDescription: 'schemas esflow restores under their ids',
      exportVersion: '3.0',
      exportedOn: at,
      exportedBy: 'esflow',
      dbVersion: '101',
    }),
  };
  const contents = new Set<number>();
  const globalIds = new Set<number>();
  let nextGlobalId = Math.max(0, ...schemas.map((schema) => schema.id)) + 1;
  const bySubject = new Map<string, RegisteredSchema[]>();
  for (const schema of schemas) {
    if (!contents.has(schema.id)) {
      contents.add(schema.id);
      // Apicurio's hashes are SHA-256 of the text; its canonical hash only speeds up lookups
      // by normalised content, and the text's own hash serves there too.
      const hash = createHash('sha256').update(schema.schema, 'utf8').digest('hex');
      files[`content/${hash}.Content.data`] = Buffer.from(schema.schema, 'utf8');
      files[`content/${hash}.Content.json`] = json({
        contentId: schema.id,
        canonicalHash: hash,
        contentHash: hash,
        artifactType: 'AVRO',
        contentType: 'application/json',
        serializedReferences: null,
      });
    }
    bySubject.set(schema.subject, [...(bySubject.get(schema.subject) ?? []), schema]);
  }
  for (const [subject, versions] of bySubject) {
    const dir = `groups/default/artifacts/${subject}`;
    const sorted = [...versions].sort((a, b) => a.version - b.version);
    files[`${dir}/MetaData.Artifact.json`] = json({
      groupId: null,
      artifactId: subject,
      artifactType: 'AVRO',
      name: null,
      description: null,
      labels: null,
      owner: '',
      createdOn: at,
      modifiedBy: '',
      modifiedOn: at,
    });
    for (const schema of sorted) {
      // The global id is the content id where it is free (Apicurio's legacy id mode serves global
      // ids over ccompat); a schema shared by two subjects gets a new one for its second version.
      const globalId = globalIds.has(schema.id) ? nextGlobalId++ : schema.id;
      globalIds.add(globalId);
      files[`${dir}/versions/${schema.version}.ArtifactVersion.json`] = json({
        globalId,
        groupId: null,
        artifactId: subject,
        version: String(schema.version),
        versionOrder: schema.version,
        state: 'ENABLED',
        name: null,
        description: null,
        owner: '',
        labels: null,
        createdOn: at,
        modifiedBy: '',
        modifiedOn: at,
        contentId: schema.id,
      });
    }
    files[`${dir}/branches/latest.Branch.json`] = json({
      groupId: null,
      artifactId: subject,
      branchId: 'latest',
      description: null,
      systemDefined: true,
      owner: '',
      createdOn: at,
      modifiedBy: '',
      modifiedOn: at,
      versions: sorted.map((schema) => String(schema.version)),
    });
  }
  // Stored, not deflated (level 0), as esflow always wrote it; names are UTF-8.
  return zipSync(files, { level: 0, mtime: now });
}

/**
 * Imports `schemas` under their ids into the Apicurio Registry whose ccompat API `http` talks to.
 * Throws a non-retriable INVALID_CONFIGURATION error, saying what to do instead, when the
 * registry is not Apicurio Registry 3.
 */
export async function importIntoApicurio(
  http: RegistryHttp,
  schemas: readonly RegisteredSchema[],
  now: Date,
): Promise<void> {
  const root = apicurioRoot(http.base);
  if (!root || !(await isApicurio3(http, root)))
    throw new EsflowError(
      ErrorCode.InvalidConfiguration,
      `${http.description} is not Apicurio Registry 3, the registry esflow can restore ids in; on Confluent Schema Registry, restore them yourself in IMPORT mode (see "The schema registry" in esflow's README)`,
    );
  const answer = await http.send(
    'POST',
    `${root}/apis/registry/v3/admin/import?requireEmptyRegistry=false`,
    { contentType: 'application/zip', data: apicurioArchive(schemas, now) },
  );
  if (answer.status >= 300)
    throw new EsflowError(
      answer.status >= 500 ? ErrorCode.StoreUnavailable : ErrorCode.InvalidConfiguration,
      `${http.description} refused the import of ${schemas.length} schemas (HTTP ${answer.status}: ${answer.text.slice(0, 300)})`,
      { retriable: answer.status >= 500 },
    );
}
