import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { apicurioArchive, apicurioRoot } from './apicurio-import';

describe("Apicurio's admin import archive", () => {
  const schema = (subject: string, version: number, id: number, text: string) => ({
    subject,
    version,
    id,
    schema: text,
  });

  it('holds each schema once under its content id, and each version under its subject', () => {
    const zip = apicurioArchive(
      [
        schema('a.A', 1, 3, '{"type":"string"}'),
        schema('a.A', 2, 5, '{"type":"int"}'),
        schema('b.B', 1, 3, '{"type":"string"}'),
      ],
      new Date('2026-01-02T03:04:05Z'),
    );
    const files = unzipSync(zip);
    const json = (name: string) => JSON.parse(strFromU8(files[name]!)) as Record<string, unknown>;
    const names = Object.keys(files);
    expect(names[0]).toBe('manifest-esflow.Manifest.json');
    expect(json('manifest-esflow.Manifest.json')).toMatchObject({ exportVersion: '3.0' });
    const contents = names.filter((name) => name.endsWith('.Content.json')).map(json);
    expect(contents.map((content) => content.contentId).sort()).toEqual([3, 5]);
    expect(json('groups/default/artifacts/a.A/versions/2.ArtifactVersion.json')).toMatchObject({
      contentId: 5,
      globalId: 5,
      version: '2',
    });
    // The second subject's version of content 3 gets a global id of its own.
    expect(json('groups/default/artifacts/b.B/versions/1.ArtifactVersion.json')).toMatchObject({
      contentId: 3,
      globalId: 6,
    });
    expect(json('groups/default/artifacts/a.A/branches/latest.Branch.json')).toMatchObject({
      versions: ['1', '2'],
    });
    // Stored, not deflated: the schema text is in the archive as it is.
    expect(Buffer.from(zip).includes('{"type":"int"}')).toBe(true);
  });

  it("finds Apicurio's root under its ccompat API", () => {
    expect(apicurioRoot('http://h:8080/apis/ccompat/v7')).toBe('http://h:8080');
    expect(apicurioRoot('http://h:8081')).toBeUndefined();
  });
});
