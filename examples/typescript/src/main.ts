#!/usr/bin/env node
// Entry point: builds with `tsc -p .` and runs with `node dist/main.js`.
import { Parse } from "./parse.js";
import { Queue } from "./queue.js";
import { Circle, Rect, Shape } from "./shapes.js";
import { List } from "./view.js";

function report(shapes: Shape[]): string[] {
  return shapes.map((shape) => shape.describe());
}

async function main(): Promise<void> {
  const shapes = [new Circle(1), new Rect(2, 3), new Rect(2, 2)];
  for (const line of report(shapes)) {
    console.log(line);
  }
  const rects = shapes.filter((s): s is Rect => s instanceof Rect);
  console.log("square:", rects.map((r) => r.isSquare()).join(","));
  const circle = new Circle(2);
  try {
    circle.radius = 3;
  } catch (err) {
    console.log("caught:", (err as Error).name, circle.radius);
  }
  console.log("numbers:", ["1", "2.5", "x"].map((t) => Parse.num(t, -1)).join(" "));
  try {
    Parse.num("oops");
  } catch (err) {
    if (err instanceof Parse.ParseError) {
      console.log("caught:", err.name, err.input);
    }
  }
  const queue = new Queue<number>().push(3, 1, 2);
  const doubled = await queue.mapAsync(async (x) => {
    return x * 2;
  });
  console.log("doubled:", doubled.join(","));
  const drain = queue.drain();
  const seen: number[] = [];
  let step = drain.next();
  while (!step.done) {
    seen.push(step.value);
    step = drain.next();
  }
  console.log("drained:", seen.join(","), "count:", step.value);
  console.log(List({ rows: [["a", 1], ["b", 2]] }));
  console.log("shapes made:", Shape.count);
}

main().catch((err: unknown) => {
  console.log("failed:", err);
  throw err;
});
