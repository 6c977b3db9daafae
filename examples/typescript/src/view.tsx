// TSX components, parsed with the TSX grammar.
import { h } from "./h.js";

export function Row(props: { label: string; value: number }): string {
  return <li class="row">{props.label}={props.value}</li>;
}

export const List = (props: { rows: Array<[string, number]> }): string => {
  const items = props.rows.map(([label, value]) => <Row label={label} value={value} />);
  return <ul>{items}</ul>;
};
