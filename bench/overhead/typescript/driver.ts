// Calls a tiny function N times; prints nanoseconds per call (loop included).
declare const process: { argv: string[]; hrtime: { bigint(): bigint } };
declare const console: { log(...a: unknown[]): void };

function tiny(x: number): number {
  return x + 1;
}

function run(n: number): number {
  let x = 0;
  for (let i = 0; i < n / 10; i++) x = tiny(x); // warm-up: compile before timing
  x = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) x = tiny(x);
  const ns = Number(process.hrtime.bigint() - t0);
  if (x !== n) throw new Error("bad sum");
  return ns;
}

const n = Number(process.argv[2]);
console.log(run(n) / n);
export {};
