/**
 * Runs tasks with the same key one after another, tasks with different keys concurrently.
 * The engine keys by stream, so within one process each instance has a single writer and
 * concurrent requests queue instead of racing; across processes the store's expected-revision
 * check still decides.
 */
export class KeyedSerialExecutor {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
