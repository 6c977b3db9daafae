// A tiny JSX factory that renders to strings.
type Props = { [name: string]: unknown };
type Component = (props: Props) => string;

export function h(tag: string | Component, props: Props | null, ...children: unknown[]): string {
  const flat = children.flat().join("");
  if (typeof tag === "function") {
    return tag({ ...props, children: flat });
  }
  const attrs = Object.entries(props ?? {}).map(([k, v]) => ` ${k}="${String(v)}"`);
  return `<${tag}${attrs.join("")}>${flat}</${tag}>`;
}
