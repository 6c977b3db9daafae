// Classes: an abstract base, derived classes whose constructors call super() first (as
// TypeScript requires with parameter properties and initialized fields), accessors and
// #private methods.
export abstract class Shape {
  static count = 0;
  readonly id: number;

  constructor(public readonly name: string) {
    Shape.count += 1;
    this.id = Shape.count;
  }

  abstract area(): number;

  describe(): string {
    return `${this.name}#${this.id} area=${this.area().toFixed(2)}`;
  }
}

export class Circle extends Shape {
  private readonly tau = Math.PI * 2;

  constructor(private readonly r: number) {
    super("circle");
  }

  override area(): number {
    return (this.tau / 2) * this.r ** 2;
  }

  get radius(): number {
    return this.r;
  }

  set radius(_value: number) {
    throw new RangeError("radius is read-only");
  }
}

export class Rect extends Shape {
  #w: number;
  #h: number;

  constructor(w: number, h: number) {
    super("rect");
    this.#w = w;
    this.#h = h;
  }

  override area(): number { return this.#w * this.#h; }

  #ratio(): number {
    return this.#w / this.#h;
  }

  isSquare(): boolean {
    return this.#ratio() === 1;
  }
}
