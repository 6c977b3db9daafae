// Generics, a generator with a return value, and an async method.
export class Queue<T> {
  private items: T[] = [];

  push(...values: T[]): this {
    this.items.push(...values);
    return this;
  }

  *drain(): Generator<T, number, void> {
    let n = 0;
    while (this.items.length > 0) {
      const value = this.items.shift();
      if (value !== undefined) {
        n += 1;
        yield value;
      }
    }
    return n;
  }

  async mapAsync<U>(fn: (value: T) => Promise<U>): Promise<U[]> {
    const out: U[] = [];
    for (const value of this.items) {
      out.push(await fn(value));
    }
    return out;
  }
}
