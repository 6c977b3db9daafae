// The few host globals the example uses, so it builds without @types/node.
declare const console: { log(...values: unknown[]): void };

declare namespace JSX {
  type Element = string;
  interface IntrinsicElements {
    [tag: string]: { [attribute: string]: unknown };
  }
}
