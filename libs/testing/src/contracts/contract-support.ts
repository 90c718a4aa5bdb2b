import { GlobalPosition } from '@esflow/core';
import { ContractTestApi } from './test-api';

/** A global position; `prepare` defaults to `commit`. */
export const position = (commit: bigint, prepare = commit): GlobalPosition => ({ commit, prepare });

/** What a contract's factory gives: a subject and how to dispose of it. */
export interface Disposable {
  dispose(): Promise<void>;
}

/**
 * `it`, on a fresh subject from `create` for each test, disposed of after it: the body is given
 * what `pick` takes of the subject (the port under test), and the subject itself.
 */
export function itOnAFresh<TSubject extends Disposable, TPort>(
  it: ContractTestApi['it'],
  create: () => Promise<TSubject>,
  pick: (subject: TSubject) => TPort,
) {
  return (title: string, body: (port: TPort, subject: TSubject) => Promise<void>) =>
    it(title, async () => {
      const subject = await create();
      try {
        await body(pick(subject), subject);
      } finally {
        await subject.dispose();
      }
    });
}

/** Every page of `query`, following `next`. */
export async function allPages<
  TQuery extends { readonly after?: string },
  TPage extends { readonly next?: string },
>(source: { list(query: TQuery): Promise<TPage> }, query: NoInfer<TQuery>): Promise<TPage[]> {
  const pages: TPage[] = [];
  let after: string | undefined;
  do {
    const page = await source.list(after === undefined ? query : { ...query, after });
    pages.push(page);
    after = page.next;
  } while (after !== undefined && pages.length < 100);
  return pages;
}
