// A namespace with an overloaded function and an error its callers catch.
export namespace Parse {
  export class ParseError extends Error {
    constructor(readonly input: string) {
      super(`cannot parse ${JSON.stringify(input)}`);
      this.name = "ParseError";
    }
  }

  export function num(text: string): number;
  export function num(text: string, fallback: number): number;
  export function num(text: string, fallback?: number): number {
    const n = Number(text);
    if (Number.isNaN(n)) {
      if (fallback !== undefined) {
        return fallback;
      }
      throw new ParseError(text);
    }
    return n;
  }
}
